-- Webhooks from a transactional outbox (SPEC §6 "Webhooks"; docs/needs.md, "Webhooks").
--
-- A city admin registers a URL; every need event of the city that the webhook subscribes to is
-- written to `webhook_outbox` in the transaction of the event itself (service::events::record),
-- so an event that commits is never lost and one that rolls back is never sent. The delivery
-- worker (jobs::outbox) claims due rows with FOR UPDATE SKIP LOCKED, sends them and records each
-- attempt in `webhook_deliveries`.

CREATE TABLE webhooks (
    id         uuid        PRIMARY KEY,
    city_id    uuid        NOT NULL REFERENCES org_units (id),
    url        text        NOT NULL,
    -- action words, or '*' for every event
    events     text[]      NOT NULL,
    -- the HMAC key: the worker signs with it, so it is kept as given (shown once at creation)
    secret     text        NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- a city's webhooks, listed by id, and the ones an event of the city goes to
CREATE INDEX webhooks_city_id ON webhooks (city_id, id);

-- One row per (event, webhook): the body is stored exactly as it is signed and sent, so every
-- retry sends the same bytes under the same event id.
CREATE TABLE webhook_outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        uuid        NOT NULL,
    need_id         uuid        NOT NULL,
    seq             integer     NOT NULL,
    body            text        NOT NULL,
    -- pending until a 2xx (delivered) or the last attempt (dead)
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    -- when the row is next due; a worker that claims a row moves it past the claim's lease, so
    -- a claimed row is not due for anyone else while it is being sent
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    -- one row per event per webhook; the per-need order lookup ("is an earlier seq still
    -- pending?") is a range of this index
    CONSTRAINT webhook_outbox_event_key UNIQUE (webhook_id, need_id, seq)
);
-- what the worker scans: the due pending rows, oldest first
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE status = 'pending';

-- Every attempt: what the receiver answered (or why nothing was answered).
CREATE TABLE webhook_deliveries (
    id         uuid        PRIMARY KEY,
    webhook_id uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    outbox_id  bigint      NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    event_id   uuid        NOT NULL,
    attempt    integer     NOT NULL,
    at         timestamptz NOT NULL,
    status     integer,
    error      text,
    -- delivered | retry | dead: what this attempt decided
    outcome    text        NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead'))
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_outbox ON webhook_deliveries (outbox_id);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks, webhook_outbox, webhook_deliveries TO zhucan_app;
    END IF;
END $$;
