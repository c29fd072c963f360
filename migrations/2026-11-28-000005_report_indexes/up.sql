-- Indexes the reports read through instead of scanning a city's needs and events.
-- city_id leads each key: it is the tenant key, and every report query names it.
CREATE INDEX needs_city_created_idx ON needs (city_id, created_at);
CREATE INDEX needs_city_closed_idx ON needs (city_id, closed_at) WHERE state = 'closed';
CREATE INDEX needs_city_open_due_idx ON needs (city_id, due_at) WHERE state NOT IN ('closed', 'withdrawn');
CREATE INDEX need_events_report_idx ON need_events (city_id, at)
    WHERE action IN ('auto_escalate', 'verify', 'return', 'reroute');
