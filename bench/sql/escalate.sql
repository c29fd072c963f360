-- pgbench script: POST /api/v1/needs/{id}/actions/escalate (village staff escalates a registered social need to the town centre: registered → escalated)
-- The endpoint's own SQL, as captured from the PostgreSQL log (log_statement = 'all') while the
-- release server answered one request; see bench/sql/README.md and bench/sql/captured/escalate.log.
-- Ids and values that the server passes as parameters are pgbench variables here (ids) or
-- literals (constant words, NULLs, now()); each `-- captured:` line is the start of the logged
-- statement and is checked by `bench/run.sh --capture`.
-- Not included: the pool's `SELECT $1` liveness check that deadpool runs on every checkout
-- (twice per request: one for the caller, one for the handler), and the webhook worker's poll
-- that runs beside the requests (`WITH candidates AS (…`, the outbox lag); that is API overhead.

\set one 1
\set n :n + 1
\set k :client_id + 1 + :nclients * (:n - 1)
-- bench lookup, not the endpoint's: the next prepared need of this batch, and who acts (bench.act_t);
-- every transaction takes its own row (k = client + clients × its count), as the API side does;
-- and the town centre as the array the notification query binds
SELECT a.user_id, a.username, a.unit_id, a.need_id, '{' || a.need_id || '}' AS need_ids, '{' || c.id || '}' AS centre_ids FROM bench.act_t a JOIN org_units v ON v.id = a.unit_id JOIN organizations c ON c.org_unit_id = v.town_id AND c.kind = 'town_centre' WHERE a.batch = :batch AND a.k = :k \gset
-- captured: SELECT "users"."id", "users"."username" ... WHERE ("users"."id" = $1) LIMIT $2
--   (Caller::load, src/auth/caller.rs: every authenticated request, on its own pooled connection)
SELECT "users"."id", "users"."username", "users"."role", "users"."active", "users"."password_changed_at", "users"."organization_id", "organizations"."kind", "organizations"."org_unit_id", "org_units"."kind", "users"."city_id", "org_units"."town_id" FROM ("users" LEFT OUTER JOIN ("organizations" LEFT OUTER JOIN "org_units" ON ("organizations"."org_unit_id" = "org_units"."id")) ON ("users"."organization_id" = "organizations"."id")) WHERE ("users"."id" = :user_id) LIMIT :one;
-- captured: BEGIN
BEGIN;
-- captured: SELECT "needs"."id", "needs"."city_id" ... WHERE (("needs"."id" = $1) AND ("needs"."village_id" = $2)) LIMIT $3 FOR UPDATE
--   (queries::needs::lock_in_scope: in scope and locked, in the transaction)
SELECT "needs"."id", "needs"."city_id", "needs"."town_id", "needs"."village_id", "needs"."person_id", "needs"."category", "needs"."description", "needs"."urgency", "needs"."state", "needs"."loop", "needs"."level", "needs"."handler_organization_id", "needs"."assignee_user_id", "needs"."assigned_site_id", "needs"."assigned_team_id", "needs"."referred_from_handler_id", "needs"."referred_from_level", "needs"."reporting_helper_id", "needs"."filed_by", "needs"."due_at", "needs"."overdue", "needs"."ever_overdue", "needs"."reopen_count", "needs"."satisfaction", "needs"."outcome", "needs"."resolution", "needs"."version", "needs"."created_at", "needs"."updated_at", "needs"."closed_at", "needs"."case_number", "needs"."entered_state_at" FROM "needs" WHERE (("needs"."id" = :need_id) AND ("needs"."village_id" = :unit_id)) LIMIT :one FOR UPDATE \gset n_
-- captured: SELECT "organizations"."kind", "organizations"."org_unit_id" FROM "organizations" WHERE ("organizations"."id" = $1) LIMIT $2
--   (the handler's kind and unit: the caller's relation)
SELECT "organizations"."kind", "organizations"."org_unit_id" FROM "organizations" WHERE ("organizations"."id" = :n_handler_organization_id) LIMIT :one;
-- captured: SELECT "organizations"."id" FROM "organizations" WHERE (("organizations"."org_unit_id" = $1) AND ("organizations"."kind" = $2)) LIMIT $3
--   (apply → org_at(town, town_centre))
SELECT "organizations"."id" FROM "organizations" WHERE (("organizations"."org_unit_id" = :n_town_id) AND ("organizations"."kind" = 'town_centre')) LIMIT :one \gset h_
-- captured: SELECT "sla_policies"."hours" ... WHERE ((((("sla_policies"."city_id" = $1) AND ("sla_policies"."state" = $2)) AND ("sla_policies"."loop" = $3)) AND ("sla_policies"."level" = $4)) AND ("sla_policies"."urgency" = $5)) LIMIT $6
--   (due_at)
SELECT "sla_policies"."hours" FROM "sla_policies" WHERE ((((("sla_policies"."city_id" = :n_city_id) AND ("sla_policies"."state" = 'escalated')) AND ("sla_policies"."loop" = 'social')) AND ("sla_policies"."level" = 'town')) AND ("sla_policies"."urgency" = 'normal')) LIMIT :one;
-- captured: UPDATE "needs" SET "state" = $1, "loop" = $2, "level" = $3, "handler_organization_id" = $4, "assignee_user_id" = $5, "assigned_site_id" = $6, "assigned_team_id"
--   (queries::needs::apply: the one UPDATE, prepared once per connection)
UPDATE "needs" SET "state" = 'escalated', "loop" = 'social', "level" = 'town', "handler_organization_id" = :h_id, "assignee_user_id" = NULL, "assigned_site_id" = NULL, "assigned_team_id" = NULL, "referred_from_handler_id" = NULL, "referred_from_level" = NULL, "due_at" = now() + interval '360 hours', "overdue" = false, "ever_overdue" = false, "reopen_count" = 0, "satisfaction" = NULL, "outcome" = NULL, "resolution" = NULL, "version" = 3, "updated_at" = now(), "closed_at" = NULL, "entered_state_at" = now() WHERE (("needs"."id" = :need_id) AND ("needs"."version" = 2));
-- captured: SELECT "need_events"."seq", "need_events"."hash" FROM "need_events" WHERE ("need_events"."need_id" = $1) ORDER BY "need_events"."seq" DESC LIMIT $2
--   (service::events::record: the previous hash)
SELECT "need_events"."seq", "need_events"."hash" FROM "need_events" WHERE ("need_events"."need_id" = :need_id) ORDER BY "need_events"."seq" DESC LIMIT :one \gset e_
\set seq :e_seq + 1
-- captured: INSERT INTO "need_events" ("need_id", "seq", "city_id", "action", "from_state", "to_state", "level", "handler_organization_id", "actor_user_id", "actor", "at", 
INSERT INTO "need_events" ("need_id", "seq", "city_id", "action", "from_state", "to_state", "level", "handler_organization_id", "actor_user_id", "actor", "at", "payload", "prev_hash", "hash") VALUES (:need_id, :seq, :n_city_id, 'escalate', 'registered', 'escalated', 'town', :h_id, :user_id, :username, now(), '{"reason": "bench"}', :e_hash, :hash);
-- captured: SELECT "users"."id" FROM "users" WHERE (("users"."organization_id" = ANY($1)) AND ("users"."active" = $2)) ORDER BY "users"."id"
--   (events::record → notifications: the town centre's active users, one in the synthetic city)
SELECT "users"."id" FROM "users" WHERE (("users"."organization_id" = ANY(:centre_ids)) AND ("users"."active" = true)) ORDER BY "users"."id" \gset u_
-- captured: INSERT INTO "notifications" ("id", "user_id", "city_id", "need_id", "kind", "title", "at") VALUES ($1, $2, $3, $4, $5, $6, $7)
--   (one notification to that user, in the event's transaction; the id a UUIDv7, the title a constant of the right shape)
INSERT INTO "notifications" ("id", "user_id", "city_id", "need_id", "kind", "title", "at") VALUES (bench.uuid7(), :u_id, :n_city_id, :need_id, 'escalate', '收到上报的诉求，请签收：300001-2026-000000 康复诉求', now());
-- captured: SELECT "webhooks"."id" FROM "webhooks" WHERE ((("webhooks"."city_id" = $1) AND ("webhooks"."active" = $2)) AND ("webhooks"."events" && $3))
--   (events::record → the webhook outbox: none)
SELECT "webhooks"."id" FROM "webhooks" WHERE ((("webhooks"."city_id" = :n_city_id) AND ("webhooks"."active" = true)) AND ("webhooks"."events" && '{escalate,*}'));
-- captured: COMMIT
COMMIT;
-- captured: SELECT "needs"."id", "needs"."city_id" ... WHERE ("needs"."id" = ANY($1))
--   (the need object of the answer, with its names)
SELECT "needs"."id", "needs"."city_id", "needs"."town_id", "needs"."village_id", "needs"."person_id", "needs"."category", "needs"."description", "needs"."urgency", "needs"."state", "needs"."loop", "needs"."level", "needs"."handler_organization_id", "needs"."assignee_user_id", "needs"."assigned_site_id", "needs"."assigned_team_id", "needs"."referred_from_handler_id", "needs"."referred_from_level", "needs"."reporting_helper_id", "needs"."filed_by", "needs"."due_at", "needs"."overdue", "needs"."ever_overdue", "needs"."reopen_count", "needs"."satisfaction", "needs"."outcome", "needs"."resolution", "needs"."version", "needs"."created_at", "needs"."updated_at", "needs"."closed_at", "needs"."case_number", "needs"."entered_state_at", "persons"."name", "org_units"."name", "organizations"."kind" FROM ((("needs" INNER JOIN "persons" ON ("needs"."person_id" = "persons"."id")) INNER JOIN "org_units" ON ("org_units"."id" = "needs"."village_id")) INNER JOIN "organizations" ON ("organizations"."id" = "needs"."handler_organization_id")) WHERE ("needs"."id" = ANY(:need_ids));
