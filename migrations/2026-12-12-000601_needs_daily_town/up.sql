-- The needs report for a whole city from a per-town rollup (issue 17). A city's report summed
-- needs_daily's rows of every village and day (a city-year: ~600 villages x ~340 days, 200,000
-- rows, 125 ms); needs_daily_town holds the same merged counts per town and day (16 x 365), so
-- a city's report reads ~35x fewer rows. It is written only by needs_daily_merge(), in the same
-- statement that folds the deltas into needs_daily, and rebuilt with it: a city's report sums
-- needs_daily_town and the deltas not merged yet, so it stays exact (lag 0) between merges.
CREATE TABLE needs_daily_town (
    city_id              uuid NOT NULL,
    town_id              uuid NOT NULL,
    day                  date NOT NULL,
    filed                integer NOT NULL DEFAULT 0,
    closed               integer NOT NULL DEFAULT 0,
    s_reported           integer NOT NULL DEFAULT 0,
    s_registered         integer NOT NULL DEFAULT 0,
    s_referred           integer NOT NULL DEFAULT 0,
    s_escalated          integer NOT NULL DEFAULT 0,
    s_in_progress        integer NOT NULL DEFAULT 0,
    s_resolved           integer NOT NULL DEFAULT 0,
    s_closed             integer NOT NULL DEFAULT 0,
    s_withdrawn          integer NOT NULL DEFAULT 0,
    l_policy             integer NOT NULL DEFAULT 0,
    l_social             integer NOT NULL DEFAULT 0,
    l_untriaged          integer NOT NULL DEFAULT 0,
    v_village            integer NOT NULL DEFAULT 0,
    v_town               integer NOT NULL DEFAULT 0,
    v_city               integer NOT NULL DEFAULT 0,
    c_rehabilitation     integer NOT NULL DEFAULT 0,
    c_assistive_device   integer NOT NULL DEFAULT 0,
    c_education          integer NOT NULL DEFAULT 0,
    c_employment         integer NOT NULL DEFAULT 0,
    c_allowance          integer NOT NULL DEFAULT 0,
    c_medical            integer NOT NULL DEFAULT 0,
    c_housing            integer NOT NULL DEFAULT 0,
    c_daily_care         integer NOT NULL DEFAULT 0,
    c_culture            integer NOT NULL DEFAULT 0,
    c_legal_aid          integer NOT NULL DEFAULT 0,
    c_other              integer NOT NULL DEFAULT 0,
    PRIMARY KEY (city_id, town_id, day)
);
CREATE INDEX needs_daily_town_day_idx ON needs_daily_town (city_id, day);

-- Folds the delta rows into one merged row per village and day and into the town's row of that
-- day, in one statement; answers how many delta rows it folded.
CREATE OR REPLACE FUNCTION needs_daily_merge() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    vc uuid[]; vv uuid[]; vd date[];
    tc uuid[]; tt uuid[]; td date[];
BEGIN
    WITH d AS (
        DELETE FROM needs_daily WHERE NOT merged RETURNING *
    ), g AS (
        SELECT city_id, town_id, village_id, day, count(*) AS rows,
           sum(filed)::int AS filed,
           sum(closed)::int AS closed,
           sum(s_reported)::int AS s_reported,
           sum(s_registered)::int AS s_registered,
           sum(s_referred)::int AS s_referred,
           sum(s_escalated)::int AS s_escalated,
           sum(s_in_progress)::int AS s_in_progress,
           sum(s_resolved)::int AS s_resolved,
           sum(s_closed)::int AS s_closed,
           sum(s_withdrawn)::int AS s_withdrawn,
           sum(l_policy)::int AS l_policy,
           sum(l_social)::int AS l_social,
           sum(l_untriaged)::int AS l_untriaged,
           sum(v_village)::int AS v_village,
           sum(v_town)::int AS v_town,
           sum(v_city)::int AS v_city,
           sum(c_rehabilitation)::int AS c_rehabilitation,
           sum(c_assistive_device)::int AS c_assistive_device,
           sum(c_education)::int AS c_education,
           sum(c_employment)::int AS c_employment,
           sum(c_allowance)::int AS c_allowance,
           sum(c_medical)::int AS c_medical,
           sum(c_housing)::int AS c_housing,
           sum(c_daily_care)::int AS c_daily_care,
           sum(c_culture)::int AS c_culture,
           sum(c_legal_aid)::int AS c_legal_aid,
           sum(c_other)::int AS c_other
        FROM d GROUP BY 1, 2, 3, 4
    ), m AS (
        INSERT INTO needs_daily AS x (city_id, town_id, village_id, day, merged, filed, closed, s_reported, s_registered, s_referred, s_escalated, s_in_progress, s_resolved, s_closed, s_withdrawn, l_policy, l_social, l_untriaged, v_village, v_town, v_city, c_rehabilitation, c_assistive_device, c_education, c_employment, c_allowance, c_medical, c_housing, c_daily_care, c_culture, c_legal_aid, c_other)
        SELECT city_id, town_id, village_id, day, true, filed, closed, s_reported, s_registered, s_referred, s_escalated, s_in_progress, s_resolved, s_closed, s_withdrawn, l_policy, l_social, l_untriaged, v_village, v_town, v_city, c_rehabilitation, c_assistive_device, c_education, c_employment, c_allowance, c_medical, c_housing, c_daily_care, c_culture, c_legal_aid, c_other FROM g
        ON CONFLICT (city_id, village_id, day) WHERE merged DO UPDATE SET
        filed = x.filed + EXCLUDED.filed,
        closed = x.closed + EXCLUDED.closed,
        s_reported = x.s_reported + EXCLUDED.s_reported,
        s_registered = x.s_registered + EXCLUDED.s_registered,
        s_referred = x.s_referred + EXCLUDED.s_referred,
        s_escalated = x.s_escalated + EXCLUDED.s_escalated,
        s_in_progress = x.s_in_progress + EXCLUDED.s_in_progress,
        s_resolved = x.s_resolved + EXCLUDED.s_resolved,
        s_closed = x.s_closed + EXCLUDED.s_closed,
        s_withdrawn = x.s_withdrawn + EXCLUDED.s_withdrawn,
        l_policy = x.l_policy + EXCLUDED.l_policy,
        l_social = x.l_social + EXCLUDED.l_social,
        l_untriaged = x.l_untriaged + EXCLUDED.l_untriaged,
        v_village = x.v_village + EXCLUDED.v_village,
        v_town = x.v_town + EXCLUDED.v_town,
        v_city = x.v_city + EXCLUDED.v_city,
        c_rehabilitation = x.c_rehabilitation + EXCLUDED.c_rehabilitation,
        c_assistive_device = x.c_assistive_device + EXCLUDED.c_assistive_device,
        c_education = x.c_education + EXCLUDED.c_education,
        c_employment = x.c_employment + EXCLUDED.c_employment,
        c_allowance = x.c_allowance + EXCLUDED.c_allowance,
        c_medical = x.c_medical + EXCLUDED.c_medical,
        c_housing = x.c_housing + EXCLUDED.c_housing,
        c_daily_care = x.c_daily_care + EXCLUDED.c_daily_care,
        c_culture = x.c_culture + EXCLUDED.c_culture,
        c_legal_aid = x.c_legal_aid + EXCLUDED.c_legal_aid,
        c_other = x.c_other + EXCLUDED.c_other
        RETURNING x.city_id, x.village_id, x.day, (x.filed = 0 AND x.closed = 0 AND x.s_reported = 0 AND x.s_registered = 0 AND x.s_referred = 0 AND x.s_escalated = 0 AND x.s_in_progress = 0 AND x.s_resolved = 0 AND x.s_closed = 0 AND x.s_withdrawn = 0 AND x.l_policy = 0 AND x.l_social = 0 AND x.l_untriaged = 0 AND x.v_village = 0 AND x.v_town = 0 AND x.v_city = 0 AND x.c_rehabilitation = 0 AND x.c_assistive_device = 0 AND x.c_education = 0 AND x.c_employment = 0 AND x.c_allowance = 0 AND x.c_medical = 0 AND x.c_housing = 0 AND x.c_daily_care = 0 AND x.c_culture = 0 AND x.c_legal_aid = 0 AND x.c_other = 0) AS empty
    ), t AS (
        INSERT INTO needs_daily_town AS x (city_id, town_id, day, filed, closed, s_reported, s_registered, s_referred, s_escalated, s_in_progress, s_resolved, s_closed, s_withdrawn, l_policy, l_social, l_untriaged, v_village, v_town, v_city, c_rehabilitation, c_assistive_device, c_education, c_employment, c_allowance, c_medical, c_housing, c_daily_care, c_culture, c_legal_aid, c_other)
        SELECT city_id, town_id, day,
           sum(filed)::int AS filed,
           sum(closed)::int AS closed,
           sum(s_reported)::int AS s_reported,
           sum(s_registered)::int AS s_registered,
           sum(s_referred)::int AS s_referred,
           sum(s_escalated)::int AS s_escalated,
           sum(s_in_progress)::int AS s_in_progress,
           sum(s_resolved)::int AS s_resolved,
           sum(s_closed)::int AS s_closed,
           sum(s_withdrawn)::int AS s_withdrawn,
           sum(l_policy)::int AS l_policy,
           sum(l_social)::int AS l_social,
           sum(l_untriaged)::int AS l_untriaged,
           sum(v_village)::int AS v_village,
           sum(v_town)::int AS v_town,
           sum(v_city)::int AS v_city,
           sum(c_rehabilitation)::int AS c_rehabilitation,
           sum(c_assistive_device)::int AS c_assistive_device,
           sum(c_education)::int AS c_education,
           sum(c_employment)::int AS c_employment,
           sum(c_allowance)::int AS c_allowance,
           sum(c_medical)::int AS c_medical,
           sum(c_housing)::int AS c_housing,
           sum(c_daily_care)::int AS c_daily_care,
           sum(c_culture)::int AS c_culture,
           sum(c_legal_aid)::int AS c_legal_aid,
           sum(c_other)::int AS c_other
        FROM g GROUP BY 1, 2, 3
        ON CONFLICT (city_id, town_id, day) DO UPDATE SET
        filed = x.filed + EXCLUDED.filed,
        closed = x.closed + EXCLUDED.closed,
        s_reported = x.s_reported + EXCLUDED.s_reported,
        s_registered = x.s_registered + EXCLUDED.s_registered,
        s_referred = x.s_referred + EXCLUDED.s_referred,
        s_escalated = x.s_escalated + EXCLUDED.s_escalated,
        s_in_progress = x.s_in_progress + EXCLUDED.s_in_progress,
        s_resolved = x.s_resolved + EXCLUDED.s_resolved,
        s_closed = x.s_closed + EXCLUDED.s_closed,
        s_withdrawn = x.s_withdrawn + EXCLUDED.s_withdrawn,
        l_policy = x.l_policy + EXCLUDED.l_policy,
        l_social = x.l_social + EXCLUDED.l_social,
        l_untriaged = x.l_untriaged + EXCLUDED.l_untriaged,
        v_village = x.v_village + EXCLUDED.v_village,
        v_town = x.v_town + EXCLUDED.v_town,
        v_city = x.v_city + EXCLUDED.v_city,
        c_rehabilitation = x.c_rehabilitation + EXCLUDED.c_rehabilitation,
        c_assistive_device = x.c_assistive_device + EXCLUDED.c_assistive_device,
        c_education = x.c_education + EXCLUDED.c_education,
        c_employment = x.c_employment + EXCLUDED.c_employment,
        c_allowance = x.c_allowance + EXCLUDED.c_allowance,
        c_medical = x.c_medical + EXCLUDED.c_medical,
        c_housing = x.c_housing + EXCLUDED.c_housing,
        c_daily_care = x.c_daily_care + EXCLUDED.c_daily_care,
        c_culture = x.c_culture + EXCLUDED.c_culture,
        c_legal_aid = x.c_legal_aid + EXCLUDED.c_legal_aid,
        c_other = x.c_other + EXCLUDED.c_other
        RETURNING x.city_id, x.town_id, x.day, (x.filed = 0 AND x.closed = 0 AND x.s_reported = 0 AND x.s_registered = 0 AND x.s_referred = 0 AND x.s_escalated = 0 AND x.s_in_progress = 0 AND x.s_resolved = 0 AND x.s_closed = 0 AND x.s_withdrawn = 0 AND x.l_policy = 0 AND x.l_social = 0 AND x.l_untriaged = 0 AND x.v_village = 0 AND x.v_town = 0 AND x.v_city = 0 AND x.c_rehabilitation = 0 AND x.c_assistive_device = 0 AND x.c_education = 0 AND x.c_employment = 0 AND x.c_allowance = 0 AND x.c_medical = 0 AND x.c_housing = 0 AND x.c_daily_care = 0 AND x.c_culture = 0 AND x.c_legal_aid = 0 AND x.c_other = 0) AS empty
    )
    SELECT (SELECT coalesce(sum(rows), 0) FROM g),
           (SELECT array_agg(city_id) FROM m WHERE empty), (SELECT array_agg(village_id) FROM m WHERE empty),
           (SELECT array_agg(day) FROM m WHERE empty),
           (SELECT array_agg(city_id) FROM t WHERE empty), (SELECT array_agg(town_id) FROM t WHERE empty),
           (SELECT array_agg(day) FROM t WHERE empty)
      INTO n, vc, vv, vd, tc, tt, td;
    -- a day whose needs all moved away counts nothing: a rebuild would have no row for it
    -- (only among the rows this merge left at zero: the table is never scanned whole)
    IF vc IS NOT NULL THEN
        DELETE FROM needs_daily x USING unnest(vc, vv, vd) AS k(c, v, d)
        WHERE x.merged AND x.city_id = k.c AND x.village_id = k.v AND x.day = k.d AND x.filed = 0 AND x.closed = 0 AND x.s_reported = 0 AND x.s_registered = 0 AND x.s_referred = 0 AND x.s_escalated = 0 AND x.s_in_progress = 0 AND x.s_resolved = 0 AND x.s_closed = 0 AND x.s_withdrawn = 0 AND x.l_policy = 0 AND x.l_social = 0 AND x.l_untriaged = 0 AND x.v_village = 0 AND x.v_town = 0 AND x.v_city = 0 AND x.c_rehabilitation = 0 AND x.c_assistive_device = 0 AND x.c_education = 0 AND x.c_employment = 0 AND x.c_allowance = 0 AND x.c_medical = 0 AND x.c_housing = 0 AND x.c_daily_care = 0 AND x.c_culture = 0 AND x.c_legal_aid = 0 AND x.c_other = 0;
    END IF;
    IF tc IS NOT NULL THEN
        DELETE FROM needs_daily_town x USING unnest(tc, tt, td) AS k(c, t, d)
        WHERE x.city_id = k.c AND x.town_id = k.t AND x.day = k.d AND x.filed = 0 AND x.closed = 0 AND x.s_reported = 0 AND x.s_registered = 0 AND x.s_referred = 0 AND x.s_escalated = 0 AND x.s_in_progress = 0 AND x.s_resolved = 0 AND x.s_closed = 0 AND x.s_withdrawn = 0 AND x.l_policy = 0 AND x.l_social = 0 AND x.l_untriaged = 0 AND x.v_village = 0 AND x.v_town = 0 AND x.v_city = 0 AND x.c_rehabilitation = 0 AND x.c_assistive_device = 0 AND x.c_education = 0 AND x.c_employment = 0 AND x.c_allowance = 0 AND x.c_medical = 0 AND x.c_housing = 0 AND x.c_daily_care = 0 AND x.c_culture = 0 AND x.c_legal_aid = 0 AND x.c_other = 0;
    END IF;
    RETURN n;
END $$;

-- The villages' part of the rebuild (000501's needs_daily_rebuild, renamed).
CREATE FUNCTION needs_daily_rebuild_villages() RETURNS bigint LANGUAGE sql AS $$
    DELETE FROM needs_daily;
    INSERT INTO needs_daily (city_id, town_id, village_id, day, merged, filed, closed, s_reported, s_registered, s_referred, s_escalated, s_in_progress, s_resolved, s_closed, s_withdrawn, l_policy, l_social, l_untriaged, v_village, v_town, v_city, c_rehabilitation, c_assistive_device, c_education, c_employment, c_allowance, c_medical, c_housing, c_daily_care, c_culture, c_legal_aid, c_other)
    SELECT city_id, town_id, village_id, day, true, sum(filed)::int, sum(closed)::int AS closed,
           sum(s_reported)::int, sum(s_registered)::int, sum(s_referred)::int, sum(s_escalated)::int, sum(s_in_progress)::int, sum(s_resolved)::int, sum(s_closed)::int, sum(s_withdrawn)::int, sum(l_policy)::int, sum(l_social)::int, sum(l_untriaged)::int, sum(v_village)::int, sum(v_town)::int, sum(v_city)::int, sum(c_rehabilitation)::int, sum(c_assistive_device)::int, sum(c_education)::int, sum(c_employment)::int, sum(c_allowance)::int, sum(c_medical)::int, sum(c_housing)::int, sum(c_daily_care)::int, sum(c_culture)::int, sum(c_legal_aid)::int, sum(c_other)::int
    FROM (
        SELECT n.city_id, n.town_id, n.village_id,
               (n.created_at AT TIME ZONE coalesce(cs.time_zone, 'Asia/Shanghai'))::date AS day,
               count(*)::int AS filed, 0 AS closed,
               count(*) FILTER (WHERE n.state = 'reported')::int AS s_reported,
           count(*) FILTER (WHERE n.state = 'registered')::int AS s_registered,
           count(*) FILTER (WHERE n.state = 'referred')::int AS s_referred,
           count(*) FILTER (WHERE n.state = 'escalated')::int AS s_escalated,
           count(*) FILTER (WHERE n.state = 'in_progress')::int AS s_in_progress,
           count(*) FILTER (WHERE n.state = 'resolved')::int AS s_resolved,
           count(*) FILTER (WHERE n.state = 'closed')::int AS s_closed,
           count(*) FILTER (WHERE n.state = 'withdrawn')::int AS s_withdrawn,
           count(*) FILTER (WHERE n."loop" = 'policy')::int AS l_policy,
           count(*) FILTER (WHERE n."loop" = 'social')::int AS l_social,
           count(*) FILTER (WHERE n."loop" IS NULL)::int AS l_untriaged,
           count(*) FILTER (WHERE n.level = 'village')::int AS v_village,
           count(*) FILTER (WHERE n.level = 'town')::int AS v_town,
           count(*) FILTER (WHERE n.level = 'city')::int AS v_city,
           count(*) FILTER (WHERE n.category = 'rehabilitation')::int AS c_rehabilitation,
           count(*) FILTER (WHERE n.category = 'assistive_device')::int AS c_assistive_device,
           count(*) FILTER (WHERE n.category = 'education')::int AS c_education,
           count(*) FILTER (WHERE n.category = 'employment')::int AS c_employment,
           count(*) FILTER (WHERE n.category = 'allowance')::int AS c_allowance,
           count(*) FILTER (WHERE n.category = 'medical')::int AS c_medical,
           count(*) FILTER (WHERE n.category = 'housing')::int AS c_housing,
           count(*) FILTER (WHERE n.category = 'daily_care')::int AS c_daily_care,
           count(*) FILTER (WHERE n.category = 'culture')::int AS c_culture,
           count(*) FILTER (WHERE n.category = 'legal_aid')::int AS c_legal_aid,
           count(*) FILTER (WHERE n.category = 'other')::int AS c_other
        FROM needs n LEFT JOIN city_settings cs ON cs.city_id = n.city_id
        GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT n.city_id, n.town_id, n.village_id,
               (n.closed_at AT TIME ZONE coalesce(cs.time_zone, 'Asia/Shanghai'))::date,
               0, count(*)::int, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        FROM needs n LEFT JOIN city_settings cs ON cs.city_id = n.city_id
        WHERE n.state = 'closed' AND n.closed_at IS NOT NULL
        GROUP BY 1, 2, 3, 4
    ) t
    GROUP BY 1, 2, 3, 4;
    SELECT count(*) FROM needs_daily;
$$;

-- Recomputes the summary and its town rollup from the needs (merged rows only).
CREATE OR REPLACE FUNCTION needs_daily_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM needs_daily_rebuild_villages();
    DELETE FROM needs_daily_town;
    INSERT INTO needs_daily_town (city_id, town_id, day, filed, closed, s_reported, s_registered, s_referred, s_escalated, s_in_progress, s_resolved, s_closed, s_withdrawn, l_policy, l_social, l_untriaged, v_village, v_town, v_city, c_rehabilitation, c_assistive_device, c_education, c_employment, c_allowance, c_medical, c_housing, c_daily_care, c_culture, c_legal_aid, c_other)
    SELECT city_id, town_id, day,
           sum(filed)::int AS filed,
           sum(closed)::int AS closed,
           sum(s_reported)::int AS s_reported,
           sum(s_registered)::int AS s_registered,
           sum(s_referred)::int AS s_referred,
           sum(s_escalated)::int AS s_escalated,
           sum(s_in_progress)::int AS s_in_progress,
           sum(s_resolved)::int AS s_resolved,
           sum(s_closed)::int AS s_closed,
           sum(s_withdrawn)::int AS s_withdrawn,
           sum(l_policy)::int AS l_policy,
           sum(l_social)::int AS l_social,
           sum(l_untriaged)::int AS l_untriaged,
           sum(v_village)::int AS v_village,
           sum(v_town)::int AS v_town,
           sum(v_city)::int AS v_city,
           sum(c_rehabilitation)::int AS c_rehabilitation,
           sum(c_assistive_device)::int AS c_assistive_device,
           sum(c_education)::int AS c_education,
           sum(c_employment)::int AS c_employment,
           sum(c_allowance)::int AS c_allowance,
           sum(c_medical)::int AS c_medical,
           sum(c_housing)::int AS c_housing,
           sum(c_daily_care)::int AS c_daily_care,
           sum(c_culture)::int AS c_culture,
           sum(c_legal_aid)::int AS c_legal_aid,
           sum(c_other)::int AS c_other
    FROM needs_daily GROUP BY 1, 2, 3;
    SELECT count(*) INTO n FROM needs_daily;
    RETURN n;
END $$;

SELECT needs_daily_rebuild();

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON needs_daily_town TO zhucan_app;
    END IF;
END $$;
