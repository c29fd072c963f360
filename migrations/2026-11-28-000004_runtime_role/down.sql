DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app') THEN
        REVOKE ALL ON ALL TABLES IN SCHEMA public FROM zhucan_app;
        REVOKE USAGE ON SCHEMA public FROM zhucan_app;
    END IF;
END $$;
