-- The person's own access (role `persona`): an invitation handed over by the organisation in
-- charge (only a hash of its one-time code is kept), the account it becomes, linked to exactly
-- one person, and the person's self-assessments.
CREATE TABLE person_invitations (
    id INTEGER PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    -- Set when accepted, or when a newer invitation replaces it.
    used_at TEXT
);
CREATE INDEX person_invitations_person ON person_invitations(person_id);

CREATE TABLE person_accounts (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    person_id BIGINT NOT NULL UNIQUE REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    created_at TEXT NOT NULL
);

CREATE TABLE self_assessments (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    -- The organisation that invited the person: whose case managers see it first.
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    instrument_id BIGINT NOT NULL REFERENCES instruments(id),
    assessed_on TEXT NOT NULL,
    answers TEXT NOT NULL,
    scores TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX self_assessments_person ON self_assessments(person_id, assessed_on);

-- A restricted person's record takes no new self-assessment (migration 0019).
CREATE TRIGGER self_assessments_restricted_insert BEFORE INSERT ON self_assessments
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
