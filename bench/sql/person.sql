-- pgbench script: GET /api/v1/persons/{id} (town staff, a person of their town)
-- The endpoint's own SQL, as captured from the PostgreSQL log (log_statement = 'all') while the
-- release server answered one request; see bench/sql/README.md and bench/sql/captured/person.log.
-- Ids and values that the server passes as parameters are pgbench variables here (ids) or
-- literals (constant words, NULLs, now()); each `-- captured:` line is the start of the logged
-- statement and is checked by `bench/run.sh --capture`.
-- Not included: the pool's `SELECT $1` liveness check that deadpool runs on every checkout
-- (twice per request: one for the caller, one for the handler), and the webhook worker's poll
-- that runs beside the requests (`WITH candidates AS (…`, the outbox lag); that is API overhead.

\set one 1
\set k random(1, :rows)
-- bench lookup, not the endpoint's: which person, read by which user (bench.person_t)
SELECT user_id, town_id, person_id FROM bench.person_t WHERE k = :k \gset
-- captured: SELECT "users"."id", "users"."username" ... WHERE ("users"."id" = $1) LIMIT $2
--   (Caller::load, src/auth/caller.rs: every authenticated request, on its own pooled connection)
SELECT "users"."id", "users"."username", "users"."role", "users"."active", "users"."password_changed_at", "users"."organization_id", "organizations"."kind", "organizations"."org_unit_id", "org_units"."kind", "users"."city_id", "org_units"."town_id" FROM ("users" LEFT OUTER JOIN ("organizations" LEFT OUTER JOIN "org_units" ON ("organizations"."org_unit_id" = "org_units"."id")) ON ("users"."organization_id" = "organizations"."id")) WHERE ("users"."id" = :user_id) LIMIT :one;
-- captured: SELECT "persons"."id", "persons"."city_id" ... WHERE (("persons"."town_id" = $1) AND ("persons"."id" = $2)) LIMIT $3
--   (service::persons::get → queries::persons, in scope)
SELECT "persons"."id", "persons"."city_id", "persons"."town_id", "persons"."village_id", "persons"."name", "persons"."id_number_enc", "persons"."id_number_masked", "persons"."disability_category", "persons"."disability_grade", "persons"."birth_date", "persons"."gender", "persons"."phone", "persons"."address", "persons"."guardian_name", "persons"."guardian_phone", "persons"."status", "persons"."group_size", "persons"."last_visited_at", "persons"."version", "persons"."created_at", "persons"."updated_at" FROM "persons" WHERE (("persons"."town_id" = :town_id) AND ("persons"."id" = :person_id)) LIMIT :one;
