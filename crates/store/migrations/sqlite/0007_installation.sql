-- One row: what ties this database to its installation key (a fingerprint, never the key) and
-- the last successful write check of `/readyz`.
CREATE TABLE installation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key_fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    checked_at TEXT,
    -- Written and cleared by `/readyz` after a disk-full error: proves space can be allocated.
    probe BLOB
);
