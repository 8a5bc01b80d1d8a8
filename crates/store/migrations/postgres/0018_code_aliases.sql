-- Rectification (GDPR art. 16): a corrected identity gives a new pseudonymous code; the codes a
-- person had before stay theirs, so that registering the same person with the old data still
-- answers "già noto" instead of creating a duplicate record.
CREATE TABLE person_code_aliases (
    code TEXT PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    replaced_at TEXT NOT NULL
);
CREATE INDEX person_code_aliases_person ON person_code_aliases(person_id);
