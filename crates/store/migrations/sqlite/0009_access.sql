-- The access model of ADR 0003 (rewritten): who a person's data concerns on the audit trail,
-- who owns a programme, and break-the-glass grants.

-- The person an entry concerns (reads of sub-resources, probes), so the auditor can answer
-- "who looked at person X". Hashed with the entry when present (older entries unchanged).
ALTER TABLE audit_log ADD COLUMN person_id BIGINT;
CREATE INDEX audit_log_person ON audit_log(person_id, id);
CREATE INDEX audit_log_user ON audit_log(user_id, at);
CREATE INDEX audit_log_organisation ON audit_log(organisation_id, at);

-- The organisation that runs a programme: only coordinators of it (and the organisations under
-- it) change its rules, budgets and name. Existing programmes belong to the organisation of
-- whoever created them, as the audit trail recorded it.
ALTER TABLE programmes ADD COLUMN owner_organisation_id BIGINT REFERENCES organisations(id);
UPDATE programmes SET owner_organisation_id = (
    SELECT a.organisation_id FROM audit_log a
    WHERE a.entity = 'programme' AND a.action IN ('create', 'import') AND a.entity_id = CAST(programmes.id AS TEXT)
    ORDER BY a.id LIMIT 1);

-- Emergency access to a person's record ("break-the-glass"): a stated reason, a limited time,
-- and the auditor's review of whether it was justified.
CREATE TABLE glass_access (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    reason TEXT NOT NULL,
    started_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    reviewed_by BIGINT REFERENCES users(id),
    reviewed_at TEXT,
    justified INTEGER,
    review_note TEXT
);
CREATE INDEX glass_access_user ON glass_access(user_id, person_id, expires_at);
CREATE INDEX glass_access_review ON glass_access(reviewed_at, id);
