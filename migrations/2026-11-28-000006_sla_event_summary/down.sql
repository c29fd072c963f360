DROP TRIGGER need_events_sla_daily ON need_events;
DROP FUNCTION sla_event_daily_rebuild();
DROP FUNCTION sla_event_daily_add();
DROP TABLE sla_event_daily;
