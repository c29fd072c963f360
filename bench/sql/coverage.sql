-- pgbench script: GET /api/v1/reports/coverage?org_unit_id=<city> (the city's admin)
-- The endpoint's own SQL, as captured from the PostgreSQL log (log_statement = 'all') while the
-- release server answered one request; see bench/sql/README.md and bench/sql/captured/coverage.log.
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
-- captured: SELECT "city_settings"."visit_interval_days" FROM "city_settings" WHERE ("city_settings"."city_id" = $1) LIMIT $2
SELECT "city_settings"."visit_interval_days" FROM "city_settings" WHERE ("city_settings"."city_id" = :city_id) LIMIT :one;
-- captured: SELECT NULL::uuid AS grp, count(*) AS active, count(*) FILTER (WHERE group_size >= 3) AS covered
SELECT NULL::uuid AS grp, count(*) AS active, count(*) FILTER (WHERE group_size >= 3) AS covered, count(*) FILTER (WHERE last_visited_at IS NULL OR last_visited_at < :since) AS overdue FROM persons WHERE city_id = :city_id AND status = 'active';
-- captured: SELECT town_id AS grp, count(*) AS active, count(*) FILTER (WHERE group_size >= 3) AS covered
SELECT town_id AS grp, count(*) AS active, count(*) FILTER (WHERE group_size >= 3) AS covered, count(*) FILTER (WHERE last_visited_at IS NULL OR last_visited_at < :since) AS overdue FROM persons WHERE city_id = :city_id AND status = 'active' GROUP BY 1;
-- captured: SELECT id, kind, name FROM org_units WHERE parent_id = $1 ORDER BY code
SELECT id, kind, name FROM org_units WHERE parent_id = :city_id ORDER BY code;
-- captured: SELECT id AS person_id, name, village_id, group_size, last_visited_at FROM persons WHERE city_id = $1 AND status = 'active' AND group_size < 3
SELECT id AS person_id, name, village_id, group_size, last_visited_at FROM persons WHERE city_id = :city_id AND status = 'active' AND group_size < 3 ORDER BY id LIMIT 200;
-- captured: SELECT id AS person_id, name, village_id, group_size, last_visited_at FROM persons WHERE city_id = $1 AND status = 'active' AND (last_visited_at
SELECT id AS person_id, name, village_id, group_size, last_visited_at FROM persons WHERE city_id = :city_id AND status = 'active' AND (last_visited_at IS NULL OR last_visited_at < :since) ORDER BY last_visited_at NULLS FIRST, id LIMIT 200;
