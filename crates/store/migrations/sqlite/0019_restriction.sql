-- Restriction of processing (GDPR art. 18): while a person's record is restricted it is kept
-- but frozen. One enforcement point for every write, whichever use case, import or script makes
-- it: triggers refuse INSERT and UPDATE of the person's rows (identity, episodes and their teams,
-- new consents, interventions and everything under them, projects and everything under them,
-- referrals, placements, assessments). Deleting stays possible (nothing here deletes a person's
-- rows but retention and erasure, which the service refuses for a restricted person first).
-- Revoking a consent stays possible: it only narrows processing, and is the person's right.
-- Reading goes on: the record is hidden from everyday lists, not from its own page or reports.
CREATE TABLE person_restrictions (
    person_id BIGINT PRIMARY KEY REFERENCES persons(id),
    restricted_at TEXT NOT NULL,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL
);

CREATE TRIGGER care_episodes_restricted_insert BEFORE INSERT ON care_episodes
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER care_episodes_restricted_update BEFORE UPDATE ON care_episodes
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER consents_restricted_insert BEFORE INSERT ON consents
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER interventions_restricted_insert BEFORE INSERT ON interventions
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER interventions_restricted_update BEFORE UPDATE ON interventions
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER projects_restricted_insert BEFORE INSERT ON projects
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER projects_restricted_update BEFORE UPDATE ON projects
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER referrals_restricted_insert BEFORE INSERT ON referrals
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER referrals_restricted_update BEFORE UPDATE ON referrals
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER placements_restricted_insert BEFORE INSERT ON placements
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER placements_restricted_update BEFORE UPDATE ON placements
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER person_assessments_restricted_insert BEFORE INSERT ON person_assessments
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER person_assessments_restricted_update BEFORE UPDATE ON person_assessments
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = NEW.person_id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

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

CREATE TRIGGER intervention_events_restricted_insert BEFORE INSERT ON intervention_events
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM interventions WHERE id = NEW.intervention_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER intervention_events_restricted_update BEFORE UPDATE ON intervention_events
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM interventions WHERE id = NEW.intervention_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER ledger_entries_restricted_insert BEFORE INSERT ON ledger_entries
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM interventions WHERE id = NEW.intervention_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER ledger_entries_restricted_update BEFORE UPDATE ON ledger_entries
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM interventions WHERE id = NEW.intervention_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER attendance_restricted_insert BEFORE INSERT ON attendance
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM interventions WHERE id = NEW.intervention_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER attendance_restricted_update BEFORE UPDATE ON attendance
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM interventions WHERE id = NEW.intervention_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER assessments_restricted_insert BEFORE INSERT ON assessments
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM interventions WHERE id = NEW.intervention_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER assessments_restricted_update BEFORE UPDATE ON assessments
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM interventions WHERE id = NEW.intervention_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER project_versions_restricted_insert BEFORE INSERT ON project_versions
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM projects WHERE id = NEW.project_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER project_versions_restricted_update BEFORE UPDATE ON project_versions
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM projects WHERE id = NEW.project_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER project_reviews_restricted_insert BEFORE INSERT ON project_reviews
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM projects WHERE id = NEW.project_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER project_reviews_restricted_update BEFORE UPDATE ON project_reviews
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM projects WHERE id = NEW.project_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER objective_progress_restricted_insert BEFORE INSERT ON objective_progress
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM projects WHERE id = NEW.project_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER objective_progress_restricted_update BEFORE UPDATE ON objective_progress
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM projects WHERE id = NEW.project_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER care_team_members_restricted_insert BEFORE INSERT ON care_team_members
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM care_episodes WHERE id = NEW.episode_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

CREATE TRIGGER care_team_members_restricted_update BEFORE UPDATE ON care_team_members
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = (SELECT person_id FROM care_episodes WHERE id = NEW.episode_id))
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;

-- The pseudonymous record itself (code, profile): a restricted person's row does not change.
CREATE TRIGGER persons_restricted_update BEFORE UPDATE ON persons
WHEN EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'person_restricted');
END;
