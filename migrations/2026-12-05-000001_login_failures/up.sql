-- Sign-in limits that only failures count against, shared by every API process
-- (SPEC §6 "Signing in as real deployments do"; docs/security.md, "Sign-in limits").

-- Failed sign-ins per client address, one row per failure: the per-address limit is the number
-- of rows of the last minute. A row per failure rather than a counter per address keeps the
-- address that a whole office shares from becoming a hot row and makes the window exact; a
-- successful sign-in writes nothing here. Rows older than the window are deleted when the same
-- address fails again, and by the sweeper. The key leads with (addr, at), so counting an
-- address's last minute is one short index range; `id` only keeps two failures of the same
-- microsecond apart.
CREATE TABLE login_failures (
    addr  inet        NOT NULL,
    at    timestamptz NOT NULL DEFAULT now(),
    id    bigint      GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (addr, at, id)
);

-- Per account name: the times of its recent failures (at most as many as lock it) instead of a
-- count that only grew, so "5 failures within 15 minutes" is exact and old failures stop
-- counting on their own. `failures` stays the number of those, for people reading the table.
ALTER TABLE login_throttle ADD COLUMN recent_failures timestamptz[] NOT NULL DEFAULT '{}';

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON login_failures TO zhucan_app;
    END IF;
END $$;
