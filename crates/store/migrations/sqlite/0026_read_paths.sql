-- Read paths under load (issue 10). Every list and record a case manager opens first decides
-- which people the organisation sees; these indexes answer the episode and consent grounds of
-- that rule from the index alone instead of reading one table row per episode or consent.
DROP INDEX care_episodes_org_person;
CREATE INDEX care_episodes_org_person ON care_episodes(organisation_id, person_id, start_date, end_date);
DROP INDEX consents_org_person;
CREATE INDEX consents_org_person ON consents(organisation_id, person_id, revoked_at, start_date, expiry_date, purpose);

-- One-to-one tables keyed by the row id: `BIGINT PRIMARY KEY` is a separate unique index in
-- SQLite (only `INTEGER PRIMARY KEY` names the row id), so every lookup and every write went
-- through two B-trees. Rebuilt with the same columns in the same order.
CREATE TABLE person_identities_by_rowid (
    person_id INTEGER PRIMARY KEY REFERENCES persons(id),
    surname TEXT NOT NULL,
    name TEXT NOT NULL,
    fiscal_code TEXT,
    birth_date TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    address TEXT,
    updated_at TEXT NOT NULL
);
INSERT INTO person_identities_by_rowid
    SELECT person_id, surname, name, fiscal_code, birth_date, phone, email, address, updated_at FROM person_identities;
DROP TABLE person_identities;
ALTER TABLE person_identities_by_rowid RENAME TO person_identities;

CREATE TRIGGER person_identities_restricted_insert BEFORE INSERT ON person_identities
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER person_identities_restricted_update BEFORE UPDATE ON person_identities
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TABLE imported_results_by_rowid (
    intervention_id INTEGER PRIMARY KEY REFERENCES interventions(id),
    substance_start TEXT,
    substance_current TEXT,
    section_a TEXT,
    section_b TEXT,
    section_c TEXT,
    autonomy_change TEXT
);
INSERT INTO imported_results_by_rowid
    SELECT intervention_id, substance_start, substance_current, section_a, section_b, section_c, autonomy_change
    FROM imported_results;
DROP TABLE imported_results;
ALTER TABLE imported_results_by_rowid RENAME TO imported_results;

CREATE TABLE report_facts_by_rowid (
    intervention_id INTEGER PRIMARY KEY REFERENCES interventions(id),
    revision BIGINT NOT NULL,
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    start_date TEXT,
    profile BIGINT NOT NULL,
    person_id BIGINT,
    end_date TEXT,
    import_id BIGINT
);
INSERT INTO report_facts_by_rowid
    SELECT intervention_id, revision, programme_id, organisation_id, start_date, profile, person_id, end_date, import_id
    FROM report_facts;
DROP TABLE report_facts;
ALTER TABLE report_facts_by_rowid RENAME TO report_facts;
CREATE INDEX report_facts_revision ON report_facts(revision);
