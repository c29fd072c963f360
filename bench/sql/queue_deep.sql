-- pgbench script: GET /api/v1/needs?handler_organization_id=…&cursor=… a deep page (town staff)
-- The endpoint's own SQL, as captured from the PostgreSQL log (log_statement = 'all') while the
-- release server answered one request; see bench/sql/README.md and bench/sql/captured/queue_deep.log.
-- Ids and values that the server passes as parameters are pgbench variables here (ids) or
-- literals (constant words, NULLs, now()); each `-- captured:` line is the start of the logged
-- statement and is checked by `bench/run.sh --capture`.
-- Not included: the pool's `SELECT $1` liveness check that deadpool runs on every checkout
-- (twice per request: one for the caller, one for the handler), and the webhook worker's poll
-- that runs beside the requests (`WITH candidates AS (…`, the outbox lag); that is API overhead.

\set page 51
\set one 1
\set k random(1, :rows)
-- bench lookup, not the endpoint's: which queue, from which cursor (bench.queue_t)
SELECT user_id, town_id, handler_id, cursor_id FROM bench.queue_t WHERE k = :k \gset
-- captured: SELECT "users"."id", "users"."username" ... WHERE ("users"."id" = $1) LIMIT $2
--   (Caller::load, src/auth/caller.rs: every authenticated request, on its own pooled connection)
SELECT "users"."id", "users"."username", "users"."role", "users"."active", "users"."password_changed_at", "users"."organization_id", "organizations"."kind", "organizations"."org_unit_id", "org_units"."kind", "users"."city_id", "org_units"."town_id" FROM ("users" LEFT OUTER JOIN ("organizations" LEFT OUTER JOIN "org_units" ON ("organizations"."org_unit_id" = "org_units"."id")) ON ("users"."organization_id" = "organizations"."id")) WHERE ("users"."id" = :user_id) LIMIT :one;
-- captured: SELECT "needs"."id", "needs"."city_id" ... WHERE ((("needs"."town_id" = $1) AND ("needs"."handler_organization_id" = $2)) AND ("needs"."id" > $3)) ORDER BY "needs"."id" LIMIT $4
--   (service::needs::list with a cursor)
SELECT "needs"."id", "needs"."city_id", "needs"."town_id", "needs"."village_id", "needs"."person_id", "needs"."category", "needs"."description", "needs"."urgency", "needs"."state", "needs"."loop", "needs"."level", "needs"."handler_organization_id", "needs"."assignee_user_id", "needs"."assigned_site_id", "needs"."assigned_team_id", "needs"."referred_from_handler_id", "needs"."referred_from_level", "needs"."reporting_helper_id", "needs"."filed_by", "needs"."due_at", "needs"."overdue", "needs"."ever_overdue", "needs"."reopen_count", "needs"."satisfaction", "needs"."outcome", "needs"."resolution", "needs"."version", "needs"."created_at", "needs"."updated_at", "needs"."closed_at", "needs"."case_number", "needs"."entered_state_at", "persons"."name", "org_units"."name", "organizations"."kind" FROM ((("needs" INNER JOIN "persons" ON ("needs"."person_id" = "persons"."id")) INNER JOIN "org_units" ON ("org_units"."id" = "needs"."village_id")) INNER JOIN "organizations" ON ("organizations"."id" = "needs"."handler_organization_id")) WHERE ((("needs"."town_id" = :town_id) AND ("needs"."handler_organization_id" = :handler_id)) AND ("needs"."id" > :cursor_id)) ORDER BY "needs"."id" LIMIT :page;
