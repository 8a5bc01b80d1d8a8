-- Foundation schema. Dates are ISO-8601 TEXT (YYYY-MM-DD), timestamps RFC 3339 UTC TEXT:
-- the same representation on SQLite and PostgreSQL (see docs/adr/0002-storage.md).
-- SQLite has no boolean type that sqlx's Any driver can decode: flags are INTEGER 0/1 here, BOOLEAN on PostgreSQL.

CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    parent_id BIGINT REFERENCES organisations(id),
    territory TEXT,
    active INTEGER NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT TRUE,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE memberships (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    role TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT TRUE,
    UNIQUE (user_id, organisation_id, role)
);
CREATE INDEX memberships_org ON memberships(organisation_id, role);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    membership_id BIGINT REFERENCES memberships(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    membership_id BIGINT NOT NULL REFERENCES memberships(id),
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);

CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    anonymous INTEGER NOT NULL,
    birth_year BIGINT,
    sex TEXT,
    citizenship TEXT,
    education TEXT,
    work_history TEXT,
    living_situation TEXT,
    user_class TEXT,
    created_at TEXT NOT NULL,
    created_by_org BIGINT REFERENCES organisations(id)
);

-- Identity lives apart from everything else; anonymous persons have no row here.
CREATE TABLE person_identities (
    person_id BIGINT PRIMARY KEY REFERENCES persons(id),
    surname TEXT NOT NULL,
    name TEXT NOT NULL,
    fiscal_code TEXT,
    birth_date TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    address TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE care_episodes (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    start_date TEXT NOT NULL,
    end_date TEXT,
    closure TEXT,
    case_manager_id BIGINT NOT NULL REFERENCES users(id),
    substance_start TEXT,
    substance_current TEXT,
    treatment_in_progress INTEGER NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL
);
CREATE INDEX care_episodes_org_person ON care_episodes(organisation_id, person_id);
CREATE INDEX care_episodes_person ON care_episodes(person_id);
CREATE INDEX care_episodes_case_manager ON care_episodes(case_manager_id);

CREATE TABLE care_team_members (
    id INTEGER PRIMARY KEY,
    episode_id BIGINT NOT NULL REFERENCES care_episodes(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    function TEXT NOT NULL,
    added_at TEXT NOT NULL,
    removed_at TEXT
);
CREATE INDEX care_team_members_user ON care_team_members(user_id, organisation_id);
CREATE INDEX care_team_members_episode ON care_team_members(episode_id);

CREATE TABLE consents (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    purpose TEXT NOT NULL,
    start_date TEXT NOT NULL,
    expiry_date TEXT,
    revoked_at TEXT,
    revoked_by BIGINT REFERENCES users(id),
    recorded_by BIGINT NOT NULL REFERENCES users(id),
    recorded_by_org BIGINT NOT NULL REFERENCES organisations(id),
    created_at TEXT NOT NULL
);
CREATE INDEX consents_org_person ON consents(organisation_id, person_id);
CREATE INDEX consents_person ON consents(person_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id BIGINT,
    username TEXT NOT NULL,
    organisation_id BIGINT,
    role TEXT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT,
    reason TEXT,
    detail TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
