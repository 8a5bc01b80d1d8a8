-- Progress on a project objective reported by the organisation responsible for it (between
-- the project's reviews, which stay the owner's).
CREATE TABLE objective_progress (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    -- Position of the objective in the project's current version (0-based).
    objective BIGINT NOT NULL,
    -- The project version the report was made on.
    version BIGINT NOT NULL,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    note TEXT,
    at TEXT NOT NULL
);
CREATE INDEX objective_progress_project ON objective_progress(project_id, objective, id);
