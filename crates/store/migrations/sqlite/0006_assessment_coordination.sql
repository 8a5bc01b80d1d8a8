-- Multidimensional assessments of a person (not tied to an intervention), and the network's
-- coordination groups with their member organisations and meetings.

CREATE TABLE person_assessments (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    instrument_id BIGINT NOT NULL REFERENCES instruments(id),
    assessed_on TEXT NOT NULL,
    answers TEXT NOT NULL,
    scores TEXT NOT NULL,
    user_class TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX person_assessments_person ON person_assessments(person_id, assessed_on);

CREATE TABLE coordination_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    territory TEXT,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES coordination_groups(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (group_id, organisation_id)
);

CREATE TABLE group_meetings (
    id INTEGER PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES coordination_groups(id),
    meeting_date TEXT NOT NULL,
    minutes TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX group_meetings_group ON group_meetings(group_id, meeting_date);
