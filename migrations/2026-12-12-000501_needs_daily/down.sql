DROP TRIGGER needs_daily_update ON needs;
DROP TRIGGER needs_daily_insert ON needs;
DROP FUNCTION needs_daily_rebuild();
DROP FUNCTION needs_daily_merge();
DROP FUNCTION needs_daily_track();
DROP FUNCTION needs_daily_delta(needs, integer);
DROP TABLE needs_daily;
