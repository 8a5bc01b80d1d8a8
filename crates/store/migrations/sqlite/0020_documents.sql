-- Signed documents (consents, projects and their versions, referrals, conclusions): the file
-- itself lives outside the database, content-addressed by its SHA-256 (a document store next to
-- the SQLite database, or a directory shared by the app servers); this row says what it is,
-- whose it is and what it is attached to, so that it is shown under the same policy as that.
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    -- consent, project, referral, intervention (the conclusion and the pre/post forms).
    parent_kind TEXT NOT NULL,
    parent_id BIGINT NOT NULL,
    -- For a project: the version the document belongs to (the one the person signed).
    parent_version BIGINT,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    -- Decided from the content, never from what the browser said.
    media_type TEXT NOT NULL,
    file_name TEXT NOT NULL,
    title TEXT NOT NULL,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    uploaded_by BIGINT NOT NULL REFERENCES users(id),
    uploaded_at TEXT NOT NULL
);
CREATE INDEX documents_parent ON documents(parent_kind, parent_id);
CREATE INDEX documents_person ON documents(person_id);
CREATE INDEX documents_sha256 ON documents(sha256);

-- A restricted person's record takes no new documents (migration 0019).
CREATE TRIGGER documents_restricted_insert BEFORE INSERT ON documents
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
CREATE TRIGGER documents_restricted_update BEFORE UPDATE ON documents
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
