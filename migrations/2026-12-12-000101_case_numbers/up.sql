-- 工单号 (SPEC §6 "Case numbers"): every need has a case number a person can say on the phone,
-- `370883-2026-000123` = the first 6 digits of its city's code, the year of filing in the
-- city's time zone, and a sequence per city and year. Unique and never reused; gaps allowed.
--
-- The sequence is a counter row per (city, year), taken by take_case_number() in a statement of
-- its own before the filing transaction begins: the row is locked for that one statement, so
-- filings of a city do not queue behind each other for the length of a filing. A number taken
-- by a filing that then fails is simply never used (a gap), never handed out again.
CREATE TABLE case_number_counters (
    city_id     uuid    NOT NULL REFERENCES org_units (id),
    year        integer NOT NULL CHECK (year BETWEEN 2000 AND 9999),
    last_value  integer NOT NULL CHECK (last_value >= 1),
    PRIMARY KEY (city_id, year)
);

ALTER TABLE needs ADD COLUMN case_number text;
-- When the need entered its current state: the start of the time its deadline allows, so the
-- inbox can tell a need "at risk" (less than a quarter of that time left). `updated_at` is not
-- it: a handover or an SLA mark touches the row without a transition.
ALTER TABLE needs ADD COLUMN entered_state_at timestamptz;

-- Existing needs are numbered in filing order (created_at, then id) per city and year, so the
-- backfill gives the same numbers whenever it runs; the counters continue after them.
WITH placed AS (
    SELECT n.id, n.city_id, substr(c.code, 1, 6) AS prefix,
           extract(year FROM n.created_at AT TIME ZONE coalesce(s.time_zone, 'Asia/Shanghai'))::integer AS year,
           row_number() OVER (
               PARTITION BY n.city_id,
                            extract(year FROM n.created_at AT TIME ZONE coalesce(s.time_zone, 'Asia/Shanghai'))
               ORDER BY n.created_at, n.id) AS seq
    FROM needs n
    JOIN org_units c ON c.id = n.city_id
    LEFT JOIN city_settings s ON s.city_id = n.city_id
)
UPDATE needs SET case_number = p.prefix || '-' || p.year || '-' || lpad(p.seq::text, greatest(6, length(p.seq::text)), '0')
FROM placed p WHERE p.id = needs.id;

INSERT INTO case_number_counters (city_id, year, last_value)
SELECT city_id, split_part(case_number, '-', 2)::integer, max(split_part(case_number, '-', 3)::integer)
FROM needs GROUP BY 1, 2;

-- the last transition is the last event that changed the state (or the filing)
UPDATE needs SET entered_state_at = coalesce(
    (SELECT max(e.at) FROM need_events e
      WHERE e.need_id = needs.id AND e.action NOT IN ('comment', 'sla_breached', 'handover', 'allocate')),
    needs.created_at);

ALTER TABLE needs ALTER COLUMN case_number SET NOT NULL;
ALTER TABLE needs ADD CONSTRAINT needs_case_number_key UNIQUE (case_number);
ALTER TABLE needs ALTER COLUMN entered_state_at SET NOT NULL;
ALTER TABLE needs ALTER COLUMN entered_state_at SET DEFAULT now();

-- The next case number of a city for a filing at `at` (a statement of its own: see above).
CREATE FUNCTION take_case_number(city uuid, at timestamptz) RETURNS text
LANGUAGE sql VOLATILE AS $$
    WITH place AS (
        SELECT c.id, substr(c.code, 1, 6) AS prefix,
               extract(year FROM at AT TIME ZONE coalesce(s.time_zone, 'Asia/Shanghai'))::integer AS year
        FROM org_units c LEFT JOIN city_settings s ON s.city_id = c.id
        WHERE c.id = city AND c.kind = 'city'
    ), taken AS (
        INSERT INTO case_number_counters AS k (city_id, year, last_value)
        SELECT id, year, 1 FROM place
        ON CONFLICT (city_id, year) DO UPDATE SET last_value = k.last_value + 1
        RETURNING k.year, k.last_value
    )
    SELECT place.prefix || '-' || taken.year || '-'
           || lpad(taken.last_value::text, greatest(6, length(taken.last_value::text)), '0')
    FROM place, taken
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app') THEN
        GRANT SELECT, INSERT, UPDATE ON case_number_counters TO zhucan_app;
    END IF;
END $$;
