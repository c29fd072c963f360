DROP INDEX needs_city_closed_idx;
CREATE INDEX needs_city_closed_idx ON needs (city_id, closed_at) WHERE state = 'closed';
DROP INDEX needs_city_open_due_idx;
CREATE INDEX needs_city_open_due_idx ON needs (city_id, due_at) WHERE state NOT IN ('closed', 'withdrawn');
