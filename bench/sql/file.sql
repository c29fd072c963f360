-- pgbench script: POST /api/v1/needs (village staff files a need for a person of their village)
-- The endpoint's own SQL, as captured from the PostgreSQL log (log_statement = 'all') while the
-- release server answered one request; see bench/sql/README.md and bench/sql/captured/file.log.
-- Ids and values that the server passes as parameters are pgbench variables here (ids) or
-- literals (constant words, NULLs, now()); each `-- captured:` line is the start of the logged
-- statement and is checked by `bench/run.sh --capture`.
-- Not included: the pool's `SELECT $1` liveness check that deadpool runs on every checkout
-- (twice per request: one for the caller, one for the handler), and the webhook worker's poll
-- that runs beside the requests (`WITH candidates AS (…`, the outbox lag); that is API overhead.

\set one 1
\set k random(1, :rows)
-- bench lookup, not the endpoint's: which person, filed by which user (bench.file_t); the new
-- need's id (a UUIDv7 made in Rust by the server), and the village DPF as the array the
-- notification query binds
SELECT f.user_id, f.username, f.village_id, f.person_id, f.dpf_ids, u.id AS new_id, '{' || u.id || '}' AS new_ids FROM bench.file_t f, bench.uuid7() AS u(id) WHERE f.k = :k \gset
-- captured: SELECT "users"."id", "users"."username" ... WHERE ("users"."id" = $1) LIMIT $2
--   (Caller::load, src/auth/caller.rs: every authenticated request, on its own pooled connection)
SELECT "users"."id", "users"."username", "users"."role", "users"."active", "users"."password_changed_at", "users"."organization_id", "organizations"."kind", "organizations"."org_unit_id", "org_units"."kind", "users"."city_id", "org_units"."town_id" FROM ("users" LEFT OUTER JOIN ("organizations" LEFT OUTER JOIN "org_units" ON ("organizations"."org_unit_id" = "org_units"."id")) ON ("users"."organization_id" = "organizations"."id")) WHERE ("users"."id" = :user_id) LIMIT :one;
-- captured: SELECT "persons"."id", "persons"."name", "persons"."city_id", "persons"."town_id", "persons"."village_id", "persons"."status" FROM "persons" WHERE (("persons"."village_id" = $1) AND ("persons"."id" = $2)) LIMIT $3
--   (service::needs::file → case_number_ahead: the person in scope, for its city)
SELECT "persons"."id", "persons"."name", "persons"."city_id", "persons"."town_id", "persons"."village_id", "persons"."status" FROM "persons" WHERE (("persons"."village_id" = :village_id) AND ("persons"."id" = :person_id)) LIMIT :one \gset p_
-- captured: SELECT take_case_number($1, now()) AS number
--   (the case number, in a statement of its own before the transaction)
SELECT take_case_number(:p_city_id, now()) AS number \gset c_
-- captured: BEGIN
BEGIN;
-- captured: SELECT "persons"."id", "persons"."name", "persons"."city_id", "persons"."town_id", "persons"."village_id", "persons"."status" FROM "persons" WHERE (("persons"."village_id" = $1) AND ("persons"."id" = $2)) LIMIT $3
--   (check_filing: the person in scope, in the transaction)
SELECT "persons"."id", "persons"."name", "persons"."city_id", "persons"."town_id", "persons"."village_id", "persons"."status" FROM "persons" WHERE (("persons"."village_id" = :village_id) AND ("persons"."id" = :person_id)) LIMIT :one;
-- captured: SELECT "persons"."id" FROM "persons" WHERE ("persons"."id" = $1) LIMIT $2 FOR UPDATE
--   (persons::lock: filings for one person queue here)
SELECT "persons"."id" FROM "persons" WHERE ("persons"."id" = :person_id) LIMIT :one FOR UPDATE;
-- captured: SELECT "needs"."id", "needs"."case_number" FROM "needs" WHERE ((("needs"."person_id" = $1) AND ("needs"."category" = $2)) AND ("needs"."state" != ALL($3))) ORDER BY "needs"."id" LIMIT $4
--   (open_of_category: the possible duplicate; the bench confirms it, as the API side does)
SELECT "needs"."id", "needs"."case_number" FROM "needs" WHERE ((("needs"."person_id" = :person_id) AND ("needs"."category" = 'rehabilitation')) AND ("needs"."state" != ALL('{closed,withdrawn}'))) ORDER BY "needs"."id" LIMIT :one;
-- captured: SELECT "organizations"."id" FROM "organizations" WHERE (("organizations"."org_unit_id" = $1) AND ("organizations"."kind" = $2)) LIMIT $3
--   (file_for → org_at(village, village_dpf))
SELECT "organizations"."id" FROM "organizations" WHERE (("organizations"."org_unit_id" = :village_id) AND ("organizations"."kind" = 'village_dpf')) LIMIT :one \gset h_
-- captured: SELECT "sla_policies"."hours" ... WHERE ((((("sla_policies"."city_id" = $1) AND ("sla_policies"."state" = $2)) AND ("sla_policies"."loop" = $3)) AND ("sla_policies"."level" = $4)) AND ("sla_policies"."urgency" = $5)) LIMIT $6
--   (due_at)
SELECT "sla_policies"."hours" FROM "sla_policies" WHERE ((((("sla_policies"."city_id" = :p_city_id) AND ("sla_policies"."state" = 'reported')) AND ("sla_policies"."loop" = '')) AND ("sla_policies"."level" = 'village')) AND ("sla_policies"."urgency" = 'normal')) LIMIT :one;
-- captured: INSERT INTO "needs" ("id", "city_id", "town_id", "village_id", "person_id", "category", "description", "urgency", "state", "level", "handler_organization_id", "
--   (queries::needs::insert)
INSERT INTO "needs" ("id", "city_id", "town_id", "village_id", "person_id", "category", "description", "urgency", "state", "level", "handler_organization_id", "reporting_helper_id", "filed_by", "due_at", "created_at", "updated_at", "case_number", "entered_state_at") VALUES (:new_id, :p_city_id, :p_town_id, :village_id, :person_id, 'rehabilitation', 'bench', 'normal', 'reported', 'village', :h_id, DEFAULT, :user_id, now() + interval '48 hours', now(), now(), :c_number, now()) RETURNING "needs"."id", "needs"."city_id", "needs"."town_id", "needs"."village_id", "needs"."person_id", "needs"."category", "needs"."description", "needs"."urgency", "needs"."state", "needs"."loop", "needs"."level", "needs"."handler_organization_id", "needs"."assignee_user_id", "needs"."assigned_site_id", "needs"."assigned_team_id", "needs"."referred_from_handler_id", "needs"."referred_from_level", "needs"."reporting_helper_id", "needs"."filed_by", "needs"."due_at", "needs"."overdue", "needs"."ever_overdue", "needs"."reopen_count", "needs"."satisfaction", "needs"."outcome", "needs"."resolution", "needs"."version", "needs"."created_at", "needs"."updated_at", "needs"."closed_at", "needs"."case_number", "needs"."entered_state_at";
-- captured: INSERT INTO "need_events" ("need_id", "seq", "city_id", "action", "from_state", "to_state", "level", "handler_organization_id", "actor_user_id", "actor", "at", 
--   (service::events::record: a new need has no event before this one, so none is read; the hash
--   is computed in Rust, here a constant of the same length)
INSERT INTO "need_events" ("need_id", "seq", "city_id", "action", "from_state", "to_state", "level", "handler_organization_id", "actor_user_id", "actor", "at", "payload", "prev_hash", "hash") VALUES (:new_id, 1, :p_city_id, 'file', NULL, 'reported', 'village', :h_id, :user_id, :username, now(), '{"urgency": "normal", "category": "rehabilitation", "reporting_helper_id": null}', NULL, :hash);
-- captured: SELECT "users"."id" FROM "users" WHERE (("users"."organization_id" = ANY($1)) AND ("users"."active" = $2)) ORDER BY "users"."id"
--   (events::record → notifications: the handler's active users; the synthetic village DPFs have
--   none, so no INSERT INTO notifications follows, as in the captured request)
SELECT "users"."id" FROM "users" WHERE (("users"."organization_id" = ANY(:dpf_ids)) AND ("users"."active" = true)) ORDER BY "users"."id";
-- captured: SELECT "webhooks"."id" FROM "webhooks" WHERE ((("webhooks"."city_id" = $1) AND ("webhooks"."active" = $2)) AND ("webhooks"."events" && $3))
--   (events::record → the webhook outbox: the city's active webhooks for this event; none)
SELECT "webhooks"."id" FROM "webhooks" WHERE ((("webhooks"."city_id" = :p_city_id) AND ("webhooks"."active" = true)) AND ("webhooks"."events" && '{file,*}'));
-- captured: SELECT "needs"."id", "needs"."city_id" ... WHERE ("needs"."id" = ANY($1))
--   (the need object of the answer, with its names)
SELECT "needs"."id", "needs"."city_id", "needs"."town_id", "needs"."village_id", "needs"."person_id", "needs"."category", "needs"."description", "needs"."urgency", "needs"."state", "needs"."loop", "needs"."level", "needs"."handler_organization_id", "needs"."assignee_user_id", "needs"."assigned_site_id", "needs"."assigned_team_id", "needs"."referred_from_handler_id", "needs"."referred_from_level", "needs"."reporting_helper_id", "needs"."filed_by", "needs"."due_at", "needs"."overdue", "needs"."ever_overdue", "needs"."reopen_count", "needs"."satisfaction", "needs"."outcome", "needs"."resolution", "needs"."version", "needs"."created_at", "needs"."updated_at", "needs"."closed_at", "needs"."case_number", "needs"."entered_state_at", "persons"."name", "org_units"."name", "organizations"."kind" FROM ((("needs" INNER JOIN "persons" ON ("needs"."person_id" = "persons"."id")) INNER JOIN "org_units" ON ("org_units"."id" = "needs"."village_id")) INNER JOIN "organizations" ON ("organizations"."id" = "needs"."handler_organization_id")) WHERE ("needs"."id" = ANY(:new_ids));
-- captured: COMMIT
COMMIT;
