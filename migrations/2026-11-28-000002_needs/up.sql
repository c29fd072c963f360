-- The dual closed loop (双闭环): needs, their append-only history, SLA policies,
-- idempotent filing, and the rotating on-duty president (会长轮值).

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE needs (
    id                       uuid PRIMARY KEY,
    city_id                  uuid NOT NULL REFERENCES org_units (id),
    town_id                  uuid NOT NULL REFERENCES org_units (id),
    village_id               uuid NOT NULL REFERENCES org_units (id),
    person_id                uuid NOT NULL REFERENCES persons (id),
    category                 text NOT NULL CHECK (category IN ('rehabilitation', 'assistive_device', 'education',
                                  'employment', 'allowance', 'medical', 'housing', 'daily_care', 'culture',
                                  'legal_aid', 'other')),
    description              text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
    urgency                  text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent')),
    state                    text NOT NULL CHECK (state IN ('reported', 'registered', 'referred', 'escalated',
                                  'in_progress', 'resolved', 'closed', 'withdrawn')),
    loop                     text CHECK (loop IN ('policy', 'social')),
    level                    text NOT NULL CHECK (level IN ('village', 'town', 'city')),
    handler_organization_id  uuid NOT NULL REFERENCES organizations (id),
    assignee_user_id         uuid REFERENCES users (id),
    assigned_site_id         uuid REFERENCES organizations (id),
    assigned_team_id         uuid REFERENCES volunteer_teams (id),
    -- where a referral came from, so that 退单 (return) restores it
    referred_from_handler_id uuid REFERENCES organizations (id),
    referred_from_level      text CHECK (referred_from_level IN ('village', 'town', 'city')),
    reporting_helper_id      uuid REFERENCES helpers (id),
    filed_by                 uuid REFERENCES users (id),
    due_at                   timestamptz,
    overdue                  boolean NOT NULL DEFAULT false,
    ever_overdue             boolean NOT NULL DEFAULT false,
    reopen_count             integer NOT NULL DEFAULT 0,
    satisfaction             smallint CHECK (satisfaction BETWEEN 1 AND 5),
    outcome                  text CHECK (outcome IN ('fulfilled', 'unable')),
    resolution               text,
    version                  integer NOT NULL DEFAULT 1,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    closed_at                timestamptz,
    CONSTRAINT needs_loop_after_triage CHECK ((state = 'reported') = (loop IS NULL) OR state = 'withdrawn')
);
CREATE INDEX needs_city_idx ON needs (city_id, id);
CREATE INDEX needs_town_idx ON needs (town_id, id);
CREATE INDEX needs_village_idx ON needs (village_id, id);
CREATE INDEX needs_person_idx ON needs (person_id, id);
CREATE INDEX needs_handler_idx ON needs (handler_organization_id, id);
CREATE INDEX needs_assignee_idx ON needs (assignee_user_id, id);
CREATE INDEX needs_site_idx ON needs (assigned_site_id);
CREATE INDEX needs_team_idx ON needs (assigned_team_id);
CREATE INDEX needs_helper_idx ON needs (reporting_helper_id);
CREATE INDEX needs_filed_by_idx ON needs (filed_by);
CREATE INDEX needs_referred_from_idx ON needs (referred_from_handler_id);
-- the sweeper's work list: open needs by deadline
CREATE INDEX needs_due_idx ON needs (due_at) WHERE state NOT IN ('closed', 'withdrawn');
-- open city-level needs, for handovers between presidents
CREATE INDEX needs_city_open_idx ON needs (city_id) WHERE level = 'city' AND state NOT IN ('closed', 'withdrawn', 'resolved');

-- Organisations a need was ever routed to outside the tree: departments (refer) and sites (assign).
CREATE TABLE need_access (
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    need_id          uuid NOT NULL REFERENCES needs (id),
    PRIMARY KEY (organization_id, need_id)
);
CREATE INDEX need_access_need_idx ON need_access (need_id);

-- The history: append-only, hash-chained per need.
CREATE TABLE need_events (
    need_id                  uuid NOT NULL REFERENCES needs (id),
    seq                      integer NOT NULL CHECK (seq >= 1),
    city_id                  uuid NOT NULL REFERENCES org_units (id),
    action                   text NOT NULL,
    from_state               text,
    to_state                 text NOT NULL,
    level                    text NOT NULL,
    handler_organization_id  uuid NOT NULL REFERENCES organizations (id),
    actor_user_id            uuid REFERENCES users (id),
    actor                    text NOT NULL,
    at                       timestamptz NOT NULL,
    payload                  jsonb NOT NULL DEFAULT '{}',
    prev_hash                bytea,
    hash                     bytea NOT NULL,
    PRIMARY KEY (need_id, seq)
);
CREATE INDEX need_events_city_at_idx ON need_events (city_id, at);
CREATE INDEX need_events_actor_idx ON need_events (actor_user_id);
CREATE INDEX need_events_handler_idx ON need_events (handler_organization_id);
CREATE TRIGGER need_events_append_only BEFORE UPDATE OR DELETE ON need_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER need_events_no_truncate BEFORE TRUNCATE ON need_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Hours allowed per (state, loop, level, urgency) and city; absent rows use the defaults.
CREATE TABLE sla_policies (
    city_id  uuid NOT NULL REFERENCES org_units (id),
    state    text NOT NULL,
    loop     text NOT NULL DEFAULT '',
    level    text NOT NULL,
    urgency  text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    hours    integer NOT NULL CHECK (hours >= 0),
    PRIMARY KEY (city_id, state, loop, level, urgency)
);

-- POST /needs with Idempotency-Key: the first answer, per caller and key.
CREATE TABLE idempotency_keys (
    user_id       uuid NOT NULL REFERENCES users (id),
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    status        integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- 会长轮值: entries of one association never overlap (the database refuses).
CREATE TABLE duty_roster (
    id              uuid PRIMARY KEY,
    association_id  uuid NOT NULL REFERENCES organizations (id),
    city_id         uuid NOT NULL REFERENCES org_units (id),
    user_id         uuid NOT NULL REFERENCES users (id),
    starts_on       date NOT NULL,
    ends_on         date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT duty_roster_order CHECK (starts_on <= ends_on),
    CONSTRAINT duty_roster_no_overlap EXCLUDE USING gist (
        association_id WITH =, daterange(starts_on, ends_on, '[]') WITH &&)
);
CREATE INDEX duty_roster_city_idx ON duty_roster (city_id, starts_on);
CREATE INDEX duty_roster_user_idx ON duty_roster (user_id);
