DROP TABLE duty_roster, idempotency_keys, sla_policies, need_events, need_access, needs;
