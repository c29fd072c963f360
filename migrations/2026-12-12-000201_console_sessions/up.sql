-- Console sessions (SPEC §6 "The console"): a row per signed-in browser. The cookie carries a
-- random token; the row keeps only its SHA-256, so a copy of the table signs nobody in. The
-- CSRF token of the session's forms is kept beside it (it is no credential by itself: it is
-- written into every page, and is worthless without the cookie). `idle_until` moves forward on
-- every request (the idle timeout, CONSOLE_IDLE_MINUTES); `expires_at` never moves (an absolute
-- limit to one working day). Signing out deletes the row; the sweeper deletes rows past either.
CREATE TABLE console_sessions (
    id          uuid        PRIMARY KEY,
    token_hash  bytea       NOT NULL UNIQUE,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    idle_until  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_sessions_user_id ON console_sessions (user_id);
CREATE INDEX console_sessions_idle_until ON console_sessions (idle_until);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON console_sessions TO zhucan_app;
    END IF;
END $$;
