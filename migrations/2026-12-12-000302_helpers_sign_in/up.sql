-- Helpers who sign in (SPEC §6): a user of role `helper`, bound to one helper record through
-- helpers.user_id (one record per account).
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'association_staff',
    'president', 'town_staff', 'department_officer', 'village_staff', 'site_staff', 'auditor',
    'helper'));
CREATE UNIQUE INDEX helpers_user_unique ON helpers (user_id) WHERE user_id IS NOT NULL;
