-- Personalised projects (Budget di Salute): a project per person and period, its versions
-- (the content as a JSON document, never changed once written) and its reviews.

CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    case_manager_id BIGINT NOT NULL REFERENCES users(id),
    current_version BIGINT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    next_review TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX projects_person ON projects(person_id);
CREATE INDEX projects_next_review ON projects(organisation_id, next_review);

CREATE TABLE project_versions (
    project_id BIGINT NOT NULL REFERENCES projects(id),
    version BIGINT NOT NULL,
    content TEXT NOT NULL,
    reason TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users(id),
    author_org BIGINT NOT NULL REFERENCES organisations(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, version)
);

CREATE TABLE project_reviews (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    version BIGINT NOT NULL,
    review_date TEXT NOT NULL,
    content TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users(id),
    author_org BIGINT NOT NULL REFERENCES organisations(id),
    created_at TEXT NOT NULL
);
CREATE INDEX project_reviews_project ON project_reviews(project_id, review_date);
