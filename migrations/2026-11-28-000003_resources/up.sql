-- Mobilising resources: campaigns, the donations ledger, balances that never go below zero,
-- volunteer service hours.

CREATE TABLE campaigns (
    id                 uuid PRIMARY KEY,
    city_id            uuid NOT NULL REFERENCES org_units (id),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind               text NOT NULL CHECK (kind IN ('themed', 'special')),
    description        text NOT NULL DEFAULT '',
    starts_on          date NOT NULL,
    ends_on            date NOT NULL,
    target_categories  text[] NOT NULL DEFAULT '{}',
    goal_fen           bigint CHECK (goal_fen > 0),
    created_by         uuid REFERENCES users (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT campaigns_dates CHECK (starts_on <= ends_on)
);
CREATE INDEX campaigns_city_idx ON campaigns (city_id, id);
CREATE INDEX campaigns_created_by_idx ON campaigns (created_by);

-- One balance per campaign and resource: funds (item '') or a material (item, unit).
-- The CHECK is the last line of defence; allocations decrement with a guarded UPDATE.
CREATE TABLE campaign_balances (
    campaign_id  uuid NOT NULL REFERENCES campaigns (id),
    kind         text NOT NULL CHECK (kind IN ('funds', 'materials')),
    item         text NOT NULL DEFAULT '',
    unit         text NOT NULL DEFAULT '',
    city_id      uuid NOT NULL REFERENCES org_units (id),
    raised       bigint NOT NULL DEFAULT 0,
    allocated    bigint NOT NULL DEFAULT 0,
    balance      bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
    value_fen    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, kind, item, unit),
    CONSTRAINT campaign_balances_sum CHECK (balance = raised - allocated)
);

-- Every movement, append-only and hash-chained per campaign. Donations are positive,
-- allocations negative, corrections are reversing rows.
CREATE TABLE ledger_entries (
    id             uuid PRIMARY KEY,
    campaign_id    uuid NOT NULL REFERENCES campaigns (id),
    seq            integer NOT NULL CHECK (seq >= 1),
    city_id        uuid NOT NULL REFERENCES org_units (id),
    entry          text NOT NULL CHECK (entry IN ('donation', 'allocation', 'reversal')),
    kind           text NOT NULL CHECK (kind IN ('funds', 'materials')),
    item           text NOT NULL DEFAULT '',
    unit           text NOT NULL DEFAULT '',
    amount         bigint NOT NULL CHECK (amount <> 0),
    value_fen      bigint,
    donation_id    uuid,
    need_id        uuid REFERENCES needs (id),
    reverses_id    uuid REFERENCES ledger_entries (id),
    donor_name     text,
    channel        text CHECK (channel IN ('offline', 'online_platform', 'transfer')),
    received_on    date,
    note           text,
    actor_user_id  uuid REFERENCES users (id),
    at             timestamptz NOT NULL DEFAULT now(),
    prev_hash      bytea,
    hash           bytea NOT NULL,
    CONSTRAINT ledger_entries_seq_key UNIQUE (campaign_id, seq)
);
CREATE INDEX ledger_entries_donation_idx ON ledger_entries (donation_id);
CREATE INDEX ledger_entries_need_idx ON ledger_entries (need_id);
CREATE INDEX ledger_entries_reverses_idx ON ledger_entries (reverses_id);
CREATE INDEX ledger_entries_actor_idx ON ledger_entries (actor_user_id);
CREATE INDEX ledger_entries_city_idx ON ledger_entries (city_id, at);
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- 志愿服务时长: hours in halves (1 = half an hour) so sums are exact.
CREATE TABLE service_records (
    id            uuid PRIMARY KEY,
    city_id       uuid NOT NULL REFERENCES org_units (id),
    helper_id     uuid NOT NULL REFERENCES helpers (id),
    need_id       uuid NOT NULL REFERENCES needs (id),
    team_id       uuid REFERENCES volunteer_teams (id),
    served_on     date NOT NULL,
    half_hours    integer NOT NULL CHECK (half_hours BETWEEN 1 AND 48),
    note          text NOT NULL DEFAULT '',
    recorded_by   uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_records_helper_day_idx ON service_records (helper_id, served_on);
CREATE INDEX service_records_need_idx ON service_records (need_id);
CREATE INDEX service_records_team_idx ON service_records (team_id);
CREATE INDEX service_records_city_idx ON service_records (city_id, served_on);
CREATE INDEX service_records_recorded_by_idx ON service_records (recorded_by);
