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

CREATE FUNCTION refuse_write_when_restricted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key BIGINT;
    person BIGINT;
BEGIN
    -- Nearly always empty: the common case costs one look at an empty table.
    IF NOT EXISTS (SELECT 1 FROM person_restrictions) THEN
        RETURN NEW;
    END IF;
    key := (to_jsonb(NEW) ->> TG_ARGV[1])::BIGINT;
    person := CASE TG_ARGV[0]
        WHEN 'person' THEN key
        WHEN 'intervention' THEN (SELECT person_id FROM interventions WHERE id = key)
        WHEN 'project' THEN (SELECT person_id FROM projects WHERE id = key)
        WHEN 'episode' THEN (SELECT person_id FROM care_episodes WHERE id = key)
    END;
    IF EXISTS (SELECT 1 FROM person_restrictions WHERE person_id = person) THEN
        RAISE EXCEPTION 'person_restricted';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER care_episodes_restricted BEFORE INSERT OR UPDATE ON care_episodes
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('person', 'person_id');

CREATE TRIGGER consents_restricted BEFORE INSERT ON consents
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('person', 'person_id');

CREATE TRIGGER interventions_restricted BEFORE INSERT OR UPDATE ON interventions
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('person', 'person_id');

CREATE TRIGGER projects_restricted BEFORE INSERT OR UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('person', 'person_id');

CREATE TRIGGER referrals_restricted BEFORE INSERT OR UPDATE ON referrals
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('person', 'person_id');

CREATE TRIGGER placements_restricted BEFORE INSERT OR UPDATE ON placements
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('person', 'person_id');

CREATE TRIGGER person_assessments_restricted BEFORE INSERT OR UPDATE ON person_assessments
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('person', 'person_id');

CREATE TRIGGER person_identities_restricted BEFORE INSERT OR UPDATE ON person_identities
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('person', 'person_id');

CREATE TRIGGER intervention_events_restricted BEFORE INSERT OR UPDATE ON intervention_events
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('intervention', 'intervention_id');

CREATE TRIGGER ledger_entries_restricted BEFORE INSERT OR UPDATE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('intervention', 'intervention_id');

CREATE TRIGGER attendance_restricted BEFORE INSERT OR UPDATE ON attendance
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('intervention', 'intervention_id');

CREATE TRIGGER assessments_restricted BEFORE INSERT OR UPDATE ON assessments
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('intervention', 'intervention_id');

CREATE TRIGGER project_versions_restricted BEFORE INSERT OR UPDATE ON project_versions
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('project', 'project_id');

CREATE TRIGGER project_reviews_restricted BEFORE INSERT OR UPDATE ON project_reviews
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('project', 'project_id');

CREATE TRIGGER objective_progress_restricted BEFORE INSERT OR UPDATE ON objective_progress
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('project', 'project_id');

CREATE TRIGGER care_team_members_restricted BEFORE INSERT OR UPDATE ON care_team_members
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('episode', 'episode_id');

-- The pseudonymous record itself (code, profile): a restricted person's row does not change.
CREATE TRIGGER persons_restricted BEFORE UPDATE ON persons
    FOR EACH ROW EXECUTE FUNCTION refuse_write_when_restricted('person', 'id');
