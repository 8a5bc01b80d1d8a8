-- An import writes its rows in short transactions while it is "staging", invisible to every
-- reader, and becomes visible in one short publishing step (ADR 0015). Only one import stages
-- at a time in the whole installation: the unique index is the lock, across app servers.
ALTER TABLE imports ADD COLUMN state TEXT NOT NULL DEFAULT 'published';
-- Every fact a staging import writes has a revision at least this one: report readers do not
-- move past it until the import is published or discarded.
ALTER TABLE imports ADD COLUMN first_revision BIGINT;
-- Renewed with every chunk; a staging import whose heartbeat stopped was abandoned (a crash)
-- and is discarded by the next import or server start.
ALTER TABLE imports ADD COLUMN heartbeat TEXT;
CREATE UNIQUE INDEX imports_one_staging ON imports(state) WHERE state = 'staging';

ALTER TABLE interventions ADD COLUMN import_id BIGINT REFERENCES imports(id);
ALTER TABLE persons ADD COLUMN import_id BIGINT REFERENCES imports(id);
ALTER TABLE report_facts ADD COLUMN import_id BIGINT;
CREATE INDEX interventions_import ON interventions(import_id);
CREATE INDEX persons_import ON persons(import_id);

-- The programme overview counts over a covering index; it now also leaves staging rows out.
DROP INDEX interventions_programme_org;
CREATE INDEX interventions_programme_org ON interventions(programme_id, organisation_id, intervention_type, status, actual_start, import_id);
