DROP TRIGGER needs_sla_daily_move ON needs;
DROP FUNCTION sla_event_daily_move();
DROP FUNCTION sla_event_daily_of(uuid);
