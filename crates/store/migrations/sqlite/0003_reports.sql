-- Outcome monitoring: the per-intervention reporting extract, historical imports.

-- A row imported from a historical spreadsheet keeps the file's identifier, so importing the
-- same file again finds it instead of adding it twice; the hash tells a changed row apart.
ALTER TABLE interventions ADD COLUMN external_ref TEXT;
ALTER TABLE interventions ADD COLUMN import_hash TEXT;
CREATE UNIQUE INDEX interventions_external_ref ON interventions(programme_id, external_ref);

-- Results of historical interventions, which come as levels rather than item answers.
CREATE TABLE imported_results (
    intervention_id BIGINT PRIMARY KEY REFERENCES interventions(id),
    substance_start TEXT,
    substance_current TEXT,
    section_a TEXT,
    section_b TEXT,
    section_c TEXT,
    autonomy_change TEXT
);

CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    rows_total BIGINT NOT NULL,
    rows_added BIGINT NOT NULL,
    rows_present BIGINT NOT NULL,
    user_id BIGINT REFERENCES users(id),
    at TEXT NOT NULL
);

-- One row per intervention with its classified values packed into `profile` (see
-- percorsi_domain::report::Fact::profile) and no identity: what the reports count. Written in
-- the same transaction as every change it reflects; `revision` grows with each write
-- (assigned under the audit lock) so a reader fetches only what changed.
CREATE TABLE report_facts (
    intervention_id BIGINT PRIMARY KEY REFERENCES interventions(id),
    revision BIGINT NOT NULL,
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    start_date TEXT,
    profile BIGINT NOT NULL
);
CREATE INDEX report_facts_revision ON report_facts(revision);
