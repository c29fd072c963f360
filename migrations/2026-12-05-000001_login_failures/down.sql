ALTER TABLE login_throttle DROP COLUMN recent_failures;
DROP TABLE login_failures;
