-- Notifications (SPEC §6): a row per user told that a need landed on their desk (written in the
-- event's transaction), or that one is at risk / overdue, or that visits fall due.
CREATE TABLE notifications (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    city_id uuid NOT NULL REFERENCES org_units (id),
    need_id uuid REFERENCES needs (id),
    kind text NOT NULL,
    title text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz
);
-- a user's list, newest first (ids are UUIDv7, so id order is time order)
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_need_idx ON notifications (need_id);
CREATE INDEX notifications_city_idx ON notifications (city_id);

-- the sweeper's notices go out once per need and state: a need's version changes with each
-- transition, so (need, version, kind) is "this state, this notice"
CREATE TABLE need_notices (
    need_id uuid NOT NULL REFERENCES needs (id),
    version integer NOT NULL,
    kind text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (need_id, version, kind)
);

-- the daily visit reminder goes to each village station once a day (in the city's time zone)
CREATE TABLE visit_reminders (
    organization_id uuid NOT NULL REFERENCES organizations (id),
    on_day date NOT NULL,
    persons integer NOT NULL,
    PRIMARY KEY (organization_id, on_day)
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON notifications, need_notices, visit_reminders TO zhucan_app;
    END IF;
END $$;
