-- pgbench script: POST /api/v1/needs (village staff files a need for a person of their village)
-- The endpoint's own SQL, as captured from the PostgreSQL log (log_statement = 'all') while the
-- release server answered one request; see bench/sql/README.md and bench/sql/captured/file.log.
-- Ids and values that the server passes as parameters are pgbench variables here (ids) or
-- literals (constant words, NULLs, now()); each `-- captured:` line is the start of the logged
-- statement and is checked by `bench/run.sh --capture`.
-- Not included: the pool's `SELECT $1` liveness check that deadpool runs on every checkout
-- (twice per request: one for the caller, one for the handler); that is API overhead.

\set one 1
\set k random(1, :rows)
-- bench lookup, not the endpoint's: which person, filed by which user (bench.file_t)
SELECT user_id, username, village_id, person_id FROM bench.file_t WHERE k = :k \gset
-- captured: SELECT "users"."id", "users"."username", "users"."role", "users"."active" ... WHERE ("users"."id" = $1) LIMIT $2
--   (Caller::load, src/auth/caller.rs: every authenticated request, on its own pooled connection)
SELECT "users"."id", "users"."username", "users"."role", "users"."active", "users"."password_changed_at", "users"."organization_id", "organizations"."kind", "organizations"."org_unit_id", "org_units"."kind", "users"."city_id", "org_units"."town_id" FROM ("users" LEFT OUTER JOIN ("organizations" LEFT OUTER JOIN "org_units" ON ("organizations"."org_unit_id" = "org_units"."id")) ON ("users"."organization_id" = "organizations"."id")) WHERE ("users"."id" = :user_id) LIMIT :one;
-- captured: SELECT "persons"."id", "persons"."city_id" ... WHERE (("persons"."village_id" = $1) AND ("persons"."id" = $2)) LIMIT $3
--   (file_need → persons::load_in_scope)
SELECT "persons"."id", "persons"."city_id", "persons"."town_id", "persons"."village_id", "persons"."name", "persons"."id_number_enc", "persons"."id_number_masked", "persons"."disability_category", "persons"."disability_grade", "persons"."birth_date", "persons"."gender", "persons"."phone", "persons"."address", "persons"."guardian_name", "persons"."guardian_phone", "persons"."status", "persons"."group_size", "persons"."last_visited_at", "persons"."version", "persons"."created_at", "persons"."updated_at" FROM "persons" WHERE (("persons"."village_id" = :village_id) AND ("persons"."id" = :person_id)) LIMIT :one \gset p_
-- the case number, taken in a statement of its own before the filing transaction
SELECT take_case_number(:p_city_id, now()) AS case_number \gset c_
-- captured: BEGIN
BEGIN;
-- captured: SELECT "organizations"."id" FROM "organizations" WHERE (("organizations"."org_unit_id" = $1) AND ("organizations"."kind" = $2)) LIMIT $3
--   (needs::file → org_at(village, village_dpf), src/needs.rs)
SELECT "organizations"."id" FROM "organizations" WHERE (("organizations"."org_unit_id" = :village_id) AND ("organizations"."kind" = 'village_dpf')) LIMIT :one \gset h_
-- captured: SELECT "sla_policies"."hours" FROM "sla_policies" WHERE ((((("sla_policies"."city_id" = $1)
--   (needs::due_at)
SELECT "sla_policies"."hours" FROM "sla_policies" WHERE ((((("sla_policies"."city_id" = :p_city_id) AND ("sla_policies"."state" = 'reported')) AND ("sla_policies"."loop" = '')) AND ("sla_policies"."level" = 'village')) AND ("sla_policies"."urgency" = 'normal')) LIMIT :one;
-- captured: INSERT INTO "needs" ("id", "city_id", "town_id", "village_id", "person_id", "category"
--   (needs::file; the id is a UUIDv7 made in Rust, here bench.uuid7())
INSERT INTO "needs" ("id", "city_id", "town_id", "village_id", "person_id", "category", "description", "urgency", "state", "level", "handler_organization_id", "reporting_helper_id", "filed_by", "due_at", "created_at", "updated_at", "case_number") VALUES (bench.uuid7(), :p_city_id, :p_town_id, :p_village_id, :p_id, 'rehabilitation', 'bench', 'normal', 'reported', 'village', :h_id, NULL, :user_id, now() + interval '48 hours', now(), now(), :c_case_number) RETURNING "needs"."id", "needs"."city_id", "needs"."town_id", "needs"."village_id", "needs"."person_id", "needs"."category", "needs"."description", "needs"."urgency", "needs"."state", "needs"."loop", "needs"."level", "needs"."handler_organization_id", "needs"."assignee_user_id", "needs"."assigned_site_id", "needs"."assigned_team_id", "needs"."referred_from_handler_id", "needs"."referred_from_level", "needs"."reporting_helper_id", "needs"."filed_by", "needs"."due_at", "needs"."overdue", "needs"."ever_overdue", "needs"."reopen_count", "needs"."satisfaction", "needs"."outcome", "needs"."resolution", "needs"."version", "needs"."created_at", "needs"."updated_at", "needs"."closed_at" \gset n_
-- captured: INSERT INTO "need_events" ("need_id", "seq", "city_id", "action", "from_state", "to_state"
--   (a new need has no event before this one, so none is read; the hash is computed in
--   Rust, here a constant of the same length)
INSERT INTO "need_events" ("need_id", "seq", "city_id", "action", "from_state", "to_state", "level", "handler_organization_id", "actor_user_id", "actor", "at", "payload", "prev_hash", "hash") VALUES (:n_id, 1, :p_city_id, 'file', NULL, 'reported', 'village', :h_id, :user_id, :username, now(), '{"urgency": "normal", "category": "rehabilitation", "reporting_helper_id": null}', NULL, :hash);
-- captured: COMMIT
COMMIT;
