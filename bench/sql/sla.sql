-- pgbench script: GET /api/v1/reports/sla?org_unit_id=<city> (the city's admin; default period: 1 January to today)
-- The endpoint's own SQL, as captured from the PostgreSQL log (log_statement = 'all') while the
-- release server answered one request; see bench/sql/README.md and bench/sql/captured/sla.log.
-- Ids and values that the server passes as parameters are pgbench variables here (ids) or
-- literals (constant words, NULLs, now()); each `-- captured:` line is the start of the logged
-- statement and is checked by `bench/run.sh --capture`.
-- Not included: the pool's `SELECT $1` liveness check that deadpool runs on every checkout
-- (twice per request: one for the caller, one for the handler), and the webhook worker's poll
-- that runs beside the requests (`WITH candidates AS (…`, the outbox lag); that is API overhead.
\set one 1
-- captured: SELECT "users"."id", "users"."username", "users"."role", "users"."active" ... WHERE ("users"."id" = $1) LIMIT $2
--   (Caller::load, src/auth/caller.rs: every authenticated request, on its own pooled connection)
SELECT "users"."id", "users"."username", "users"."role", "users"."active", "users"."password_changed_at", "users"."organization_id", "organizations"."kind", "organizations"."org_unit_id", "org_units"."kind", "users"."city_id", "org_units"."town_id" FROM ("users" LEFT OUTER JOIN ("organizations" LEFT OUTER JOIN "org_units" ON ("organizations"."org_unit_id" = "org_units"."id")) ON ("users"."organization_id" = "organizations"."id")) WHERE ("users"."id" = :user_id) LIMIT :one;
-- captured: SELECT "org_units"."id", "org_units"."kind", "org_units"."name", "org_units"."code"
--   (reports: the unit in the caller's scope)
SELECT "org_units"."id", "org_units"."kind", "org_units"."name", "org_units"."code", "org_units"."parent_id", "org_units"."city_id", "org_units"."town_id", "org_units"."created_at" FROM "org_units" WHERE (("org_units"."city_id" = :city_id) AND ("org_units"."id" = :city_id)) LIMIT :one;
-- captured: SELECT "city_settings"."time_zone" FROM "city_settings" WHERE ("city_settings"."city_id" = $1) LIMIT $2
SELECT "city_settings"."time_zone" FROM "city_settings" WHERE ("city_settings"."city_id" = :city_id) LIMIT :one;
-- captured: SELECT NULL::uuid AS grp, count(*) FILTER (WHERE c) AS closed, count(*) FILTER (WHERE c AND NOT ever_overdue)
SELECT NULL::uuid AS grp, count(*) FILTER (WHERE c) AS closed, count(*) FILTER (WHERE c AND NOT ever_overdue) AS closed_on_time, count(*) FILTER (WHERE c AND reopen_count > 0) AS closed_reopened, count(*) FILTER (WHERE NOT c) AS overdue_now, avg(days) FILTER (WHERE c) AS mean_days, percentile_cont(0.9) WITHIN GROUP (ORDER BY days) FILTER (WHERE c) AS p90_days FROM ( SELECT town_id, village_id, ever_overdue, reopen_count, true AS c, extract(epoch FROM closed_at - created_at)::float8 / 86400 AS days FROM needs WHERE city_id = :city_id AND city_id = :city_id AND state = 'closed' AND closed_at >= :from_ts AND closed_at < :to_ts UNION ALL SELECT town_id, village_id, ever_overdue, reopen_count, false, NULL FROM needs WHERE city_id = :city_id AND city_id = :city_id AND state NOT IN ('closed', 'withdrawn') AND due_at < :now_ts) n;
-- captured: SELECT town_id AS grp, count(*) FILTER (WHERE c) AS closed, count(*) FILTER (WHERE c AND NOT ever_overdue)
SELECT town_id AS grp, count(*) FILTER (WHERE c) AS closed, count(*) FILTER (WHERE c AND NOT ever_overdue) AS closed_on_time, count(*) FILTER (WHERE c AND reopen_count > 0) AS closed_reopened, count(*) FILTER (WHERE NOT c) AS overdue_now, avg(days) FILTER (WHERE c) AS mean_days, percentile_cont(0.9) WITHIN GROUP (ORDER BY days) FILTER (WHERE c) AS p90_days FROM ( SELECT town_id, village_id, ever_overdue, reopen_count, true AS c, extract(epoch FROM closed_at - created_at)::float8 / 86400 AS days FROM needs WHERE city_id = :city_id AND city_id = :city_id AND state = 'closed' AND closed_at >= :from_ts AND closed_at < :to_ts UNION ALL SELECT town_id, village_id, ever_overdue, reopen_count, false, NULL FROM needs WHERE city_id = :city_id AND city_id = :city_id AND state NOT IN ('closed', 'withdrawn') AND due_at < :now_ts) n GROUP BY 1;
-- captured: SELECT id, kind, name FROM org_units WHERE parent_id = $1 ORDER BY code
SELECT id, kind, name FROM org_units WHERE parent_id = :city_id ORDER BY code;
-- captured: SELECT NULL::uuid AS grp, coalesce(sum(auto_escalations), 0)::bigint AS auto_escalations
SELECT NULL::uuid AS grp, coalesce(sum(auto_escalations), 0)::bigint AS auto_escalations, coalesce(sum(followups), 0)::bigint AS followups, coalesce(sum(satisfied), 0)::bigint AS satisfied, (sum(satisfaction_sum) / nullif(sum(satisfaction_n), 0))::float8 AS mean_satisfaction, coalesce(sum(returns), 0)::bigint AS returns, coalesce(sum(reroutes), 0)::bigint AS reroutes FROM sla_event_daily WHERE city_id = :city_id AND city_id = :city_id AND day >= :from_day AND day <= :to_day;
-- captured: SELECT town_id AS grp, coalesce(sum(auto_escalations), 0)::bigint AS auto_escalations
SELECT town_id AS grp, coalesce(sum(auto_escalations), 0)::bigint AS auto_escalations, coalesce(sum(followups), 0)::bigint AS followups, coalesce(sum(satisfied), 0)::bigint AS satisfied, (sum(satisfaction_sum) / nullif(sum(satisfaction_n), 0))::float8 AS mean_satisfaction, coalesce(sum(returns), 0)::bigint AS returns, coalesce(sum(reroutes), 0)::bigint AS reroutes FROM sla_event_daily WHERE city_id = :city_id AND city_id = :city_id AND day >= :from_day AND day <= :to_day GROUP BY 1;
-- captured: SELECT id, kind, name FROM org_units WHERE parent_id = $1 ORDER BY code
SELECT id, kind, name FROM org_units WHERE parent_id = :city_id ORDER BY code;
