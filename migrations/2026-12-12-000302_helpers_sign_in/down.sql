DROP INDEX helpers_user_unique;
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'association_staff',
    'president', 'town_staff', 'department_officer', 'village_staff', 'site_staff', 'auditor'));
