-- The SLA report's two reads of `needs` (closed in the period; open and past due) become
-- index-only scans: the partial indexes carry every column those queries use.
DROP INDEX needs_city_closed_idx;
CREATE INDEX needs_city_closed_idx ON needs (city_id, closed_at)
    INCLUDE (town_id, village_id, created_at, ever_overdue, reopen_count)
    WHERE state = 'closed';
DROP INDEX needs_city_open_due_idx;
CREATE INDEX needs_city_open_due_idx ON needs (city_id, due_at)
    INCLUDE (town_id, village_id, ever_overdue, reopen_count)
    WHERE state NOT IN ('closed', 'withdrawn');
