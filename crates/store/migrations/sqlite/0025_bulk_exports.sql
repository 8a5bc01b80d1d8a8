-- FHIR bulk exports (issue 16, ADR 0019): the analyst's k-anonymous extract as NDJSON files,
-- written in the background after the request that asked for them, kept for the user who
-- asked until they fetch and delete them or a day passes. App servers
-- are stateless, so the files live here and any server answers the status and file requests.
CREATE TABLE bulk_exports (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    request TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- Set when the files are written; `error` when writing them failed.
    completed_at TEXT,
    error TEXT
);
CREATE INDEX bulk_exports_user ON bulk_exports(user_id);

CREATE TABLE bulk_export_files (
    export_id BIGINT NOT NULL REFERENCES bulk_exports(id),
    resource_type TEXT NOT NULL,
    resources BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (export_id, resource_type)
);
