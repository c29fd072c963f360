-- A restricted runtime role for the application: it may read and write what the service
-- changes, but never UPDATE, DELETE or TRUNCATE the history, the ledger or the audit log
-- (on top of the triggers, which refuse those to everyone). A deployment grants it to the
-- login role the service uses: GRANT zhucan_app TO zhucan_runtime;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app')
       AND (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        CREATE ROLE zhucan_app NOLOGIN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app') THEN
        GRANT USAGE ON SCHEMA public TO zhucan_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO zhucan_app;
        REVOKE UPDATE, DELETE, TRUNCATE ON need_events, ledger_entries, audit_log FROM zhucan_app;
    END IF;
END $$;
