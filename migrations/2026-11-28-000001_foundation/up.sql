-- The org tree (1+16+N), organisations, accounts, persons and their 三帮一 contact groups.
-- Every row that belongs to a city carries city_id: the tenant key a distributed
-- PostgreSQL would shard on. Villages and towns also denormalise town_id so that a
-- scope filter is one indexed equality, never a recursive walk.

CREATE TABLE org_units (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('city', 'town', 'village')),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    code        text NOT NULL CHECK (code ~ '^[0-9]{12}$'),
    parent_id   uuid REFERENCES org_units (id),
    city_id     uuid NOT NULL REFERENCES org_units (id),
    town_id     uuid REFERENCES org_units (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT org_units_code_key UNIQUE (code),
    CONSTRAINT org_units_shape CHECK (
        (kind = 'city' AND parent_id IS NULL AND city_id = id AND town_id IS NULL)
     OR (kind = 'town' AND parent_id = city_id AND town_id = id)
     OR (kind = 'village' AND parent_id = town_id AND town_id IS NOT NULL)
    )
);
CREATE INDEX org_units_city_idx ON org_units (city_id, id);
CREATE INDEX org_units_town_idx ON org_units (town_id, id);
CREATE INDEX org_units_parent_idx ON org_units (parent_id, id);

CREATE TABLE city_settings (
    city_id              uuid PRIMARY KEY REFERENCES org_units (id),
    helper_capacity      integer NOT NULL DEFAULT 10 CHECK (helper_capacity BETWEEN 1 AND 1000),
    visit_interval_days  integer NOT NULL DEFAULT 30 CHECK (visit_interval_days BETWEEN 1 AND 3650),
    time_zone            text NOT NULL DEFAULT 'Asia/Shanghai'
);

CREATE TABLE organizations (
    id                      uuid PRIMARY KEY,
    kind                    text NOT NULL CHECK (kind IN ('association', 'association_branch', 'dpf',
                                 'town_centre', 'department', 'village_station', 'village_dpf', 'extension_site')),
    name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    org_unit_id             uuid NOT NULL REFERENCES org_units (id),
    city_id                 uuid NOT NULL REFERENCES org_units (id),
    department_type         text CHECK (department_type IN ('civil_affairs', 'social_security', 'health',
                                 'education', 'housing', 'medical_insurance', 'employment', 'other')),
    site_type               text CHECK (site_type IN ('enterprise', 'service_agency', 'rukang_home', 'other')),
    parent_organization_id  uuid REFERENCES organizations (id),
    created_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_department_type CHECK ((kind = 'department') = (department_type IS NOT NULL)),
    CONSTRAINT organizations_site_type CHECK ((kind = 'extension_site') = (site_type IS NOT NULL))
);
-- one town centre per town, one station and one 村残协 per village, one association and one 残联 per city
CREATE UNIQUE INDEX organizations_singleton_key ON organizations (org_unit_id, kind)
    WHERE kind IN ('association', 'dpf', 'town_centre', 'village_station', 'village_dpf');
CREATE INDEX organizations_unit_idx ON organizations (org_unit_id, id);
CREATE INDEX organizations_city_idx ON organizations (city_id, id);
CREATE INDEX organizations_parent_idx ON organizations (parent_organization_id);

CREATE TABLE users (
    id                   uuid PRIMARY KEY,
    username             text NOT NULL CHECK (username ~ '^[A-Za-z0-9_.@-]{3,64}$'),
    display_name         text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role                 text NOT NULL CHECK (role IN ('admin', 'association_staff', 'president', 'town_staff',
                              'department_officer', 'village_staff', 'site_staff', 'auditor')),
    organization_id      uuid REFERENCES organizations (id),
    city_id              uuid REFERENCES org_units (id),
    password_hash        text NOT NULL,
    active               boolean NOT NULL DEFAULT true,
    password_changed_at  timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_org_for_role CHECK (role = 'admin' OR organization_id IS NOT NULL),
    CONSTRAINT users_city_with_org CHECK ((organization_id IS NULL) = (city_id IS NULL))
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_organization_idx ON users (organization_id, id);
CREATE INDEX users_city_idx ON users (city_id, id);

-- One-time refresh tokens. A family is one login; reusing a spent token revokes the family.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id),
    token_hash  bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;

-- Failed sign-ins per account name (known or not, so both answer alike).
CREATE TABLE login_throttle (
    username_key  text PRIMARY KEY,
    failures      integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE volunteer_teams (
    id           uuid PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    org_unit_id  uuid NOT NULL REFERENCES org_units (id),
    city_id      uuid NOT NULL REFERENCES org_units (id),
    town_id      uuid REFERENCES org_units (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX volunteer_teams_city_idx ON volunteer_teams (city_id, id);
CREATE INDEX volunteer_teams_unit_idx ON volunteer_teams (org_unit_id);
CREATE INDEX volunteer_teams_town_idx ON volunteer_teams (town_id);

CREATE TABLE persons (
    id                    uuid PRIMARY KEY,
    city_id               uuid NOT NULL REFERENCES org_units (id),
    town_id               uuid NOT NULL REFERENCES org_units (id),
    village_id            uuid NOT NULL REFERENCES org_units (id),
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- the resident ID number: AEAD ciphertext bound to this row, a keyed hash for lookups,
    -- and the masked form that is all most readers ever see
    id_number_enc         bytea NOT NULL,
    id_number_hash        bytea NOT NULL,
    id_number_masked      text NOT NULL,
    disability_category   text NOT NULL CHECK (disability_category IN ('vision', 'hearing', 'speech',
                               'physical', 'intellectual', 'mental', 'multiple')),
    disability_grade      smallint NOT NULL CHECK (disability_grade BETWEEN 1 AND 4),
    birth_date            date NOT NULL,
    gender                text NOT NULL CHECK (gender IN ('male', 'female')),
    phone                 text,
    address               text,
    guardian_name         text,
    guardian_phone        text,
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'moved_out', 'deceased')),
    group_size            smallint NOT NULL DEFAULT 0 CHECK (group_size BETWEEN 0 AND 3),
    last_visited_at       timestamptz,
    version               integer NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT persons_id_number_hash_key UNIQUE (id_number_hash)
);
CREATE INDEX persons_city_idx ON persons (city_id, id);
CREATE INDEX persons_town_idx ON persons (town_id, id);
CREATE INDEX persons_village_idx ON persons (village_id, id);
CREATE INDEX persons_coverage_idx ON persons (village_id) INCLUDE (group_size, last_visited_at) WHERE status = 'active';

CREATE TABLE helpers (
    id                 uuid PRIMARY KEY,
    city_id            uuid NOT NULL REFERENCES org_units (id),
    town_id            uuid NOT NULL REFERENCES org_units (id),
    village_id         uuid NOT NULL REFERENCES org_units (id),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    phone              text,
    kind               text NOT NULL CHECK (kind IN ('village_cadre', 'volunteer', 'party_member',
                            'grid_worker', 'family', 'other')),
    volunteer_team_id  uuid REFERENCES volunteer_teams (id),
    user_id            uuid REFERENCES users (id),
    active             boolean NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX helpers_city_idx ON helpers (city_id, id);
CREATE INDEX helpers_town_idx ON helpers (town_id, id);
CREATE INDEX helpers_village_idx ON helpers (village_id, id);
CREATE INDEX helpers_team_idx ON helpers (volunteer_team_id);
CREATE INDEX helpers_user_idx ON helpers (user_id);

-- 三帮一: exactly three helpers per person when complete
CREATE TABLE contact_group_members (
    person_id   uuid NOT NULL REFERENCES persons (id),
    helper_id   uuid NOT NULL REFERENCES helpers (id),
    slot        smallint NOT NULL CHECK (slot BETWEEN 1 AND 3),
    city_id     uuid NOT NULL REFERENCES org_units (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, helper_id),
    CONSTRAINT contact_group_members_slot_key UNIQUE (person_id, slot)
);
CREATE INDEX contact_group_members_helper_idx ON contact_group_members (helper_id);

CREATE TABLE visits (
    id           uuid PRIMARY KEY,
    person_id    uuid NOT NULL REFERENCES persons (id),
    helper_id    uuid REFERENCES helpers (id),
    city_id      uuid NOT NULL REFERENCES org_units (id),
    visited_at   timestamptz NOT NULL,
    notes        text NOT NULL DEFAULT '',
    recorded_by  uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX visits_person_idx ON visits (person_id, id);
CREATE INDEX visits_helper_idx ON visits (helper_id);
CREATE INDEX visits_recorded_by_idx ON visits (recorded_by);

-- Every reveal or export of personal data.
CREATE TABLE audit_log (
    id             uuid PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    city_id        uuid REFERENCES org_units (id),
    actor_user_id  uuid REFERENCES users (id),
    actor          text NOT NULL,
    action         text NOT NULL,
    person_id      uuid REFERENCES persons (id),
    fields         text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_person_idx ON audit_log (person_id, id);
CREATE INDEX audit_log_city_idx ON audit_log (city_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
