-- pgbench script: GET /api/v1/inbox (town staff of the sampled towns and village staff of other villages: the first page and the counts)
-- The endpoint's own SQL, as captured from the PostgreSQL log (log_statement = 'all') while the
-- release server answered one request; see bench/sql/README.md and bench/sql/captured/inbox.log.
-- Ids and values that the server passes as parameters are pgbench variables here (ids) or
-- literals (constant words, NULLs, now()); each `-- captured:` line is the start of the logged
-- statement and is checked by `bench/run.sh --capture`.
-- Not included: the pool's `SELECT $1` liveness check that deadpool runs on every checkout
-- (twice per request: one for the caller, one for the handler), and the webhook worker's poll
-- that runs beside the requests (`WITH candidates AS (…`, the outbox lag); that is API overhead.

\set one 1
\set k random(1, :rows)
-- bench lookup, not the endpoint's: which caller (bench.inbox_t), with what the request binds
-- besides its ids: the handlers among its desk's candidates and the ids of its first page, as
-- the server answered them when the harness set up the table (the inbox runs before any write)
SELECT user_id, town, unit_id, org_ids, handlers, page FROM bench.inbox_t WHERE k = :k \gset
-- captured: SELECT "users"."id", "users"."username" ... WHERE ("users"."id" = $1) LIMIT $2
--   (Caller::load, src/auth/caller.rs: every authenticated request, on its own pooled connection)
SELECT "users"."id", "users"."username", "users"."role", "users"."active", "users"."password_changed_at", "users"."organization_id", "organizations"."kind", "organizations"."org_unit_id", "org_units"."kind", "users"."city_id", "org_units"."town_id" FROM ("users" LEFT OUTER JOIN ("organizations" LEFT OUTER JOIN "org_units" ON ("organizations"."org_unit_id" = "org_units"."id")) ON ("users"."organization_id" = "organizations"."id")) WHERE ("users"."id" = :user_id) LIMIT :one;
\if :town
-- captured(town): SELECT "needs"."id", "needs"."city_id" ... WHERE ((("needs"."town_id" = $1) AND needs.state NOT IN ('closed', 'withdrawn')) AND ((("needs"."town_id" = $2) AND needs.state = 'registered' AND needs.loop = 'policy') OR ("needs"."handler_organization_id" = ANY($3))))
--   (queries::needs::desk, town staff: open needs of the town that its centre handles, or policy
--   needs registered in the town awaiting referral; every candidate, as the counts need them all)
SELECT "needs"."id", "needs"."city_id", "needs"."town_id", "needs"."village_id", "needs"."state", "needs"."loop", "needs"."level", "needs"."handler_organization_id", "needs"."assigned_site_id", "needs"."due_at", "needs"."overdue", "needs"."entered_state_at" FROM "needs" WHERE ((("needs"."town_id" = :unit_id) AND needs.state NOT IN ('closed', 'withdrawn')) AND ((("needs"."town_id" = :unit_id) AND needs.state = 'registered' AND needs.loop = 'policy') OR ("needs"."handler_organization_id" = ANY(:org_ids))));
\else
-- captured(village): SELECT "needs"."id", "needs"."city_id" ... WHERE ((("needs"."village_id" = $1) AND needs.state NOT IN ('closed', 'withdrawn')) AND (("needs"."village_id" = $2) OR ("needs"."handler_organization_id" = ANY($3))))
--   (queries::needs::desk, village staff: open needs of the village, or handled by its station)
SELECT "needs"."id", "needs"."city_id", "needs"."town_id", "needs"."village_id", "needs"."state", "needs"."loop", "needs"."level", "needs"."handler_organization_id", "needs"."assigned_site_id", "needs"."due_at", "needs"."overdue", "needs"."entered_state_at" FROM "needs" WHERE ((("needs"."village_id" = :unit_id) AND needs.state NOT IN ('closed', 'withdrawn')) AND (("needs"."village_id" = :unit_id) OR ("needs"."handler_organization_id" = ANY(:org_ids))));
\endif
-- captured: SELECT "organizations"."id", "organizations"."kind" FROM "organizations" WHERE ("organizations"."id" = ANY($1))
--   (queries::needs::org_kinds: the kinds of the candidates' handlers, for the caller's relation)
SELECT "organizations"."id", "organizations"."kind" FROM "organizations" WHERE ("organizations"."id" = ANY(:handlers));
-- captured: SELECT "city_settings"."time_zone" FROM "city_settings" WHERE ("city_settings"."city_id" = $1) LIMIT $2
--   (org::city_tz: the end of today for the due_today bucket)
SELECT "city_settings"."time_zone" FROM "city_settings" WHERE ("city_settings"."city_id" = :city_id) LIMIT :one;
-- captured: SELECT "needs"."id", "needs"."city_id" ... WHERE ("needs"."id" = ANY($1))
--   (queries::needs::named: the page's needs with their names)
SELECT "needs"."id", "needs"."city_id", "needs"."town_id", "needs"."village_id", "needs"."person_id", "needs"."category", "needs"."description", "needs"."urgency", "needs"."state", "needs"."loop", "needs"."level", "needs"."handler_organization_id", "needs"."assignee_user_id", "needs"."assigned_site_id", "needs"."assigned_team_id", "needs"."referred_from_handler_id", "needs"."referred_from_level", "needs"."reporting_helper_id", "needs"."filed_by", "needs"."due_at", "needs"."overdue", "needs"."ever_overdue", "needs"."reopen_count", "needs"."satisfaction", "needs"."outcome", "needs"."resolution", "needs"."version", "needs"."created_at", "needs"."updated_at", "needs"."closed_at", "needs"."case_number", "needs"."entered_state_at", "persons"."name", "org_units"."name", "organizations"."kind" FROM ((("needs" INNER JOIN "persons" ON ("needs"."person_id" = "persons"."id")) INNER JOIN "org_units" ON ("org_units"."id" = "needs"."village_id")) INNER JOIN "organizations" ON ("organizations"."id" = "needs"."handler_organization_id")) WHERE ("needs"."id" = ANY(:page));
