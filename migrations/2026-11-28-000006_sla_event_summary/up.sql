-- A maintained summary of the events the SLA report counts (auto-escalations, follow-ups and
-- their satisfaction, returns, reroutes): one row per village and local day of the city.
-- A trigger keeps it in the same transaction as the event, so the report never lags behind the
-- history; the report reads a few rows per village and day instead of joining every event of
-- the period to its need. `sla_event_daily_rebuild()` recomputes it from the history (after a
-- bulk load that ran without triggers, or after a city changes its time zone).
CREATE TABLE sla_event_daily (
    city_id           uuid NOT NULL,
    town_id           uuid NOT NULL,
    village_id        uuid NOT NULL,
    day               date NOT NULL,
    auto_escalations  integer NOT NULL DEFAULT 0,
    followups         integer NOT NULL DEFAULT 0,
    satisfied         integer NOT NULL DEFAULT 0,
    satisfaction_sum  float8 NOT NULL DEFAULT 0,
    satisfaction_n    integer NOT NULL DEFAULT 0,
    returns           integer NOT NULL DEFAULT 0,
    reroutes          integer NOT NULL DEFAULT 0,
    PRIMARY KEY (city_id, village_id, day)
);
CREATE INDEX sla_event_daily_town_idx ON sla_event_daily (city_id, town_id, day);

CREATE FUNCTION sla_event_daily_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    v uuid;
    tz text;
    s float8;
    verify boolean := NEW.action = 'verify';
BEGIN
    SELECT n.town_id, n.village_id INTO t, v FROM needs n WHERE n.id = NEW.need_id;
    SELECT cs.time_zone INTO tz FROM city_settings cs WHERE cs.city_id = NEW.city_id;
    s := CASE WHEN verify THEN (NEW.payload->>'satisfaction')::float8 END;
    INSERT INTO sla_event_daily AS x (city_id, town_id, village_id, day, auto_escalations,
            followups, satisfied, satisfaction_sum, satisfaction_n, returns, reroutes)
    VALUES (NEW.city_id, t, v, (NEW.at AT TIME ZONE coalesce(tz, 'Asia/Shanghai'))::date,
            (NEW.action = 'auto_escalate')::int,
            verify::int,
            (verify AND coalesce((NEW.payload->>'satisfied')::boolean, false))::int,
            coalesce(s, 0),
            (s IS NOT NULL)::int,
            (NEW.action = 'return')::int,
            (NEW.action = 'reroute')::int)
    ON CONFLICT (city_id, village_id, day) DO UPDATE SET
        auto_escalations = x.auto_escalations + EXCLUDED.auto_escalations,
        followups = x.followups + EXCLUDED.followups,
        satisfied = x.satisfied + EXCLUDED.satisfied,
        satisfaction_sum = x.satisfaction_sum + EXCLUDED.satisfaction_sum,
        satisfaction_n = x.satisfaction_n + EXCLUDED.satisfaction_n,
        returns = x.returns + EXCLUDED.returns,
        reroutes = x.reroutes + EXCLUDED.reroutes;
    RETURN NULL;
END $$;

CREATE TRIGGER need_events_sla_daily AFTER INSERT ON need_events FOR EACH ROW
    WHEN (NEW.action IN ('auto_escalate', 'verify', 'return', 'reroute'))
    EXECUTE FUNCTION sla_event_daily_add();

CREATE FUNCTION sla_event_daily_rebuild() RETURNS bigint LANGUAGE sql AS $$
    DELETE FROM sla_event_daily;
    INSERT INTO sla_event_daily (city_id, town_id, village_id, day, auto_escalations, followups,
            satisfied, satisfaction_sum, satisfaction_n, returns, reroutes)
    SELECT e.city_id, n.town_id, n.village_id,
           (e.at AT TIME ZONE coalesce(cs.time_zone, 'Asia/Shanghai'))::date,
           count(*) FILTER (WHERE e.action = 'auto_escalate'),
           count(*) FILTER (WHERE e.action = 'verify'),
           count(*) FILTER (WHERE e.action = 'verify' AND coalesce((e.payload->>'satisfied')::boolean, false)),
           coalesce(sum((e.payload->>'satisfaction')::float8) FILTER (WHERE e.action = 'verify'), 0),
           count((e.payload->>'satisfaction')::float8) FILTER (WHERE e.action = 'verify'),
           count(*) FILTER (WHERE e.action = 'return'),
           count(*) FILTER (WHERE e.action = 'reroute')
    FROM need_events e
    JOIN needs n ON n.id = e.need_id
    LEFT JOIN city_settings cs ON cs.city_id = e.city_id
    WHERE e.action IN ('auto_escalate', 'verify', 'return', 'reroute')
    GROUP BY 1, 2, 3, 4;
    SELECT count(*) FROM sla_event_daily;
$$;

SELECT sla_event_daily_rebuild();

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON sla_event_daily TO zhucan_app;
    END IF;
END $$;
