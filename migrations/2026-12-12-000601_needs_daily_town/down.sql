-- Back to 000501: the merge and the rebuild without the town rollup.
DROP FUNCTION needs_daily_rebuild();
DROP FUNCTION needs_daily_rebuild_villages();
CREATE FUNCTION needs_daily_rebuild() RETURNS bigint LANGUAGE sql AS $$
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

CREATE OR REPLACE FUNCTION needs_daily_merge() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
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
        RETURNING 1
    )
    SELECT coalesce(sum(rows), 0) INTO n FROM g;
    -- a day whose needs all moved away counts nothing: a rebuild would have no row for it
    DELETE FROM needs_daily WHERE merged AND filed = 0 AND closed = 0 AND s_reported = 0 AND s_registered = 0 AND s_referred = 0 AND s_escalated = 0 AND s_in_progress = 0 AND s_resolved = 0 AND s_closed = 0 AND s_withdrawn = 0 AND l_policy = 0 AND l_social = 0 AND l_untriaged = 0 AND v_village = 0 AND v_town = 0 AND v_city = 0 AND c_rehabilitation = 0 AND c_assistive_device = 0 AND c_education = 0 AND c_employment = 0 AND c_allowance = 0 AND c_medical = 0 AND c_housing = 0 AND c_daily_care = 0 AND c_culture = 0 AND c_legal_aid = 0 AND c_other = 0;
    RETURN n;
END $$;

DROP TABLE needs_daily_town;
