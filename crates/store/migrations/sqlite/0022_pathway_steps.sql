-- Steps of the pathway networks use every day (issue 15).

-- Operator notes: dated, owned by the organisation that wrote them, with who may read them:
-- `equipe` (the organisation and the person's care team), `ente` (the organisation),
-- `autore` (only the author). Free text may name the person: erased with the identity.
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    author_id BIGINT NOT NULL REFERENCES users(id),
    note_date TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('equipe', 'ente', 'autore')),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notes_person ON notes(person_id, note_date);
CREATE INDEX notes_organisation ON notes(organisation_id, note_date);

-- Relapses as dated events of an intervention: when, which substance, in what context, what
-- was done. Each one adds to the intervention's relapse count (table 5 of the report).
CREATE TABLE relapses (
    id INTEGER PRIMARY KEY,
    intervention_id BIGINT NOT NULL REFERENCES interventions(id),
    person_id BIGINT NOT NULL REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    relapse_date TEXT NOT NULL,
    substance TEXT,
    context TEXT,
    response TEXT,
    recorded_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX relapses_intervention ON relapses(intervention_id, relapse_date);

-- Transfer of a case: to a colleague of the same organisation (the case manager changes) or
-- to another organisation (its own episode opens, the sender's closes), with a handover note,
-- effective only when the receiver accepts.
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    episode_id BIGINT NOT NULL REFERENCES care_episodes(id),
    from_org BIGINT NOT NULL REFERENCES organisations(id),
    to_org BIGINT NOT NULL REFERENCES organisations(id),
    to_user BIGINT REFERENCES users(id),
    handover TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposto', 'accettato', 'rifiutato', 'annullato')),
    decision_note TEXT,
    new_episode_id BIGINT REFERENCES care_episodes(id),
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    decided_by BIGINT REFERENCES users(id),
    decided_at TEXT
);
CREATE INDEX transfers_to ON transfers(to_org, status);
CREATE INDEX transfers_person ON transfers(person_id);
-- At most one open transfer per episode.
CREATE UNIQUE INDEX transfers_open ON transfers(episode_id) WHERE status = 'proposto';

-- A restricted person's record takes none of these (migration 0019).
CREATE TRIGGER notes_restricted_insert BEFORE INSERT ON notes
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
CREATE TRIGGER notes_restricted_update BEFORE UPDATE ON notes
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
CREATE TRIGGER relapses_restricted_insert BEFORE INSERT ON relapses
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
CREATE TRIGGER relapses_restricted_update BEFORE UPDATE ON relapses
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
CREATE TRIGGER transfers_restricted_insert BEFORE INSERT ON transfers
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
CREATE TRIGGER transfers_restricted_update BEFORE UPDATE ON transfers
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

-- The household (nucleo) recorded with a multidimensional assessment (JSON; absent when not
-- assessed).
ALTER TABLE person_assessments ADD COLUMN household TEXT;

-- Access and orientation (seed 003: informazione, consulenza, orientamento, assistenza nella
-- domanda, analisi preliminare) before — or instead of — taking someone in charge. An access
-- lets the organisation that recorded it see the person until `visible_until` (90 days),
-- a ground of visibility of its own (`percorsi_store::scope`).
CREATE TABLE accesses (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    access_date TEXT NOT NULL,
    channel TEXT NOT NULL,
    services TEXT NOT NULL,
    outcome TEXT NOT NULL,
    oriented_to BIGINT REFERENCES organisations(id),
    note TEXT,
    visible_until TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX accesses_organisation ON accesses(organisation_id, visible_until);
CREATE INDEX accesses_person ON accesses(person_id);
CREATE TRIGGER accesses_restricted_insert BEFORE INSERT ON accesses
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
CREATE TRIGGER accesses_restricted_update BEFORE UPDATE ON accesses
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
