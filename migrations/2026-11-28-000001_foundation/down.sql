DROP TABLE audit_log, visits, contact_group_members, helpers, persons, volunteer_teams,
    login_throttle, refresh_tokens, users, organizations, city_settings, org_units;
DROP FUNCTION refuse_change();
