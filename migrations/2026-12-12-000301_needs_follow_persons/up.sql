-- Persons on the move (SPEC §6): a person's open needs move to their new village. The SLA
-- report's daily summary counts each event where its need now is (sla_event_daily_rebuild()
-- groups by the need's village), so when a need's village changes its counted events move with
-- it, in the same transaction, and the summary stays equal to a rebuild.

-- What one need contributes to the summary, per day.
CREATE FUNCTION sla_event_daily_of(need uuid)
RETURNS TABLE (city_id uuid, day date, auto_escalations int, followups int, satisfied int,
               satisfaction_sum float8, satisfaction_n int, returns int, reroutes int)
LANGUAGE sql STABLE AS $$
    SELECT e.city_id,
           (e.at AT TIME ZONE coalesce(cs.time_zone, 'Asia/Shanghai'))::date,
           (count(*) FILTER (WHERE e.action = 'auto_escalate'))::int,
           (count(*) FILTER (WHERE e.action = 'verify'))::int,
           (count(*) FILTER (WHERE e.action = 'verify' AND coalesce((e.payload->>'satisfied')::boolean, false)))::int,
           coalesce(sum((e.payload->>'satisfaction')::float8) FILTER (WHERE e.action = 'verify'), 0),
           (count((e.payload->>'satisfaction')::float8) FILTER (WHERE e.action = 'verify'))::int,
           (count(*) FILTER (WHERE e.action = 'return'))::int,
           (count(*) FILTER (WHERE e.action = 'reroute'))::int
    FROM need_events e
    LEFT JOIN city_settings cs ON cs.city_id = e.city_id
    WHERE e.need_id = need AND e.action IN ('auto_escalate', 'verify', 'return', 'reroute')
    GROUP BY 1, 2
$$;

CREATE FUNCTION sla_event_daily_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sla_event_daily x SET
        auto_escalations = x.auto_escalations - m.auto_escalations,
        followups = x.followups - m.followups,
        satisfied = x.satisfied - m.satisfied,
        satisfaction_sum = x.satisfaction_sum - m.satisfaction_sum,
        satisfaction_n = x.satisfaction_n - m.satisfaction_n,
        returns = x.returns - m.returns,
        reroutes = x.reroutes - m.reroutes
    FROM sla_event_daily_of(NEW.id) m
    WHERE x.city_id = m.city_id AND x.village_id = OLD.village_id AND x.day = m.day;
    -- a day left with nothing counted is a row a rebuild would not have
    DELETE FROM sla_event_daily x
    WHERE x.city_id = OLD.city_id AND x.village_id = OLD.village_id
      AND x.auto_escalations = 0 AND x.followups = 0 AND x.satisfied = 0
      AND x.satisfaction_n = 0 AND x.returns = 0 AND x.reroutes = 0;

    INSERT INTO sla_event_daily AS x (city_id, town_id, village_id, day, auto_escalations,
            followups, satisfied, satisfaction_sum, satisfaction_n, returns, reroutes)
    SELECT m.city_id, NEW.town_id, NEW.village_id, m.day, m.auto_escalations, m.followups,
           m.satisfied, m.satisfaction_sum, m.satisfaction_n, m.returns, m.reroutes
    FROM sla_event_daily_of(NEW.id) m
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

CREATE TRIGGER needs_sla_daily_move AFTER UPDATE OF village_id ON needs FOR EACH ROW
    WHEN (OLD.village_id IS DISTINCT FROM NEW.village_id)
    EXECUTE FUNCTION sla_event_daily_move();
