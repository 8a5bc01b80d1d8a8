-- Table 2 describes the people enrolled, not their interventions: each fact names its person
-- (a person with two interventions is counted once there).
ALTER TABLE report_facts ADD COLUMN person_id BIGINT;
UPDATE report_facts SET person_id = (SELECT i.person_id FROM interventions i WHERE i.id = report_facts.intervention_id);
