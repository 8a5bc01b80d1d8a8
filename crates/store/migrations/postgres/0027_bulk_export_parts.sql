-- FHIR bulk export files in parts (issue 16). One file per resource type held a million
-- interventions' EpisodeOfCare resources in one value of over 1 GB, past what SQLite stores in
-- one value ("string or blob too big"), and the export then stayed "in progress" for an hour.
-- Each type is now written in parts of at most 100,000 resources (about 90 MB), each its own
-- file in the manifest, as the bulk data specification allows. Exports are kept a day and
-- asked for again at will: those made before this change are marked failed, not converted.
DROP TABLE bulk_export_files;
CREATE TABLE bulk_export_files (
    export_id BIGINT NOT NULL REFERENCES bulk_exports(id),
    resource_type TEXT NOT NULL,
    part BIGINT NOT NULL,
    resources BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (export_id, resource_type, part)
);
UPDATE bulk_exports SET error = 'export made before an upgrade: ask for it again' WHERE error IS NULL;
