-- Attachments (SPEC §6): files on needs and on persons, kept in object storage under their
-- sha256 (the same bytes stored once). A row names its object; an object no row names is an
-- orphan the sweep removes after a grace period. Exactly one parent: a need or a person.
CREATE TABLE attachments (
    id uuid PRIMARY KEY,
    city_id uuid NOT NULL REFERENCES org_units (id),
    need_id uuid REFERENCES needs (id),
    person_id uuid REFERENCES persons (id),
    filename text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    content_type text NOT NULL
        CHECK (content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    size bigint NOT NULL CHECK (size BETWEEN 1 AND 10485760),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    uploaded_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    CHECK ((need_id IS NULL) <> (person_id IS NULL))
);
CREATE INDEX attachments_need_idx ON attachments (need_id, id) WHERE need_id IS NOT NULL;
CREATE INDEX attachments_person_idx ON attachments (person_id, id) WHERE person_id IS NOT NULL;
CREATE INDEX attachments_sha256_idx ON attachments (sha256);
CREATE INDEX attachments_uploaded_by_idx ON attachments (uploaded_by);
-- attachments are evidence: kept, not edited
CREATE TRIGGER attachments_append_only BEFORE UPDATE OR DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zhucan_app') THEN
        GRANT SELECT, INSERT ON attachments TO zhucan_app;
    END IF;
END $$;
