-- Search (SPEC §6 "Case numbers": `GET /needs?q=`, `GET /persons?q=`) and the inbox (待办).

-- Phone numbers are personal data: an exact phone search goes through a keyed hash, like the ID
-- number. The key is not known to SQL, so the hashes are written by the service on every
-- create, edit and import, filled in for older rows when the server starts, and recomputed by
-- `zhucan rotate-pii-key`.
ALTER TABLE persons ADD COLUMN phone_hash bytea;
ALTER TABLE persons ADD COLUMN guardian_phone_hash bytea;
CREATE INDEX persons_phone_hash_idx ON persons (phone_hash) WHERE phone_hash IS NOT NULL;
CREATE INDEX persons_guardian_phone_hash_idx ON persons (guardian_phone_hash) WHERE guardian_phone_hash IS NOT NULL;
-- rows whose phones are not hashed yet: empty once the start-up fill has run
CREATE INDEX persons_phone_unhashed_idx ON persons (id)
    WHERE (phone IS NOT NULL AND phone_hash IS NULL)
       OR (guardian_phone IS NOT NULL AND guardian_phone_hash IS NULL);

-- A name contains the query: trigrams (pg_trgm, a trusted contrib extension) make a substring of
-- three characters or more an index lookup instead of a walk through the scope's persons.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX persons_name_trgm_idx ON persons USING gin (name gin_trgm_ops);

-- The inbox reads the open needs that may wait for one caller, by deadline, through one of
-- these per way a need reaches a desk: its handling organisation, the caller's village (village
-- staff register, refer and follow up there), the town's policy needs awaiting referral (town
-- staff refer), the extension site it is assigned to. Never a scan of the city.
CREATE INDEX needs_inbox_handler_idx ON needs (handler_organization_id, due_at, id)
    WHERE state NOT IN ('closed', 'withdrawn');
CREATE INDEX needs_inbox_village_idx ON needs (village_id, due_at, id)
    WHERE state NOT IN ('closed', 'withdrawn');
CREATE INDEX needs_inbox_refer_idx ON needs (town_id, due_at, id)
    WHERE state = 'registered' AND loop = 'policy';
CREATE INDEX needs_inbox_site_idx ON needs (assigned_site_id, due_at, id)
    WHERE state NOT IN ('closed', 'withdrawn') AND assigned_site_id IS NOT NULL;
