DROP FUNCTION take_case_number(uuid, timestamptz);
ALTER TABLE needs DROP CONSTRAINT needs_case_number_key;
ALTER TABLE needs DROP COLUMN entered_state_at;
ALTER TABLE needs DROP COLUMN case_number;
DROP TABLE case_number_counters;
