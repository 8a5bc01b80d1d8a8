-- Durations (table 15) need each fact's actual end beside its start.
ALTER TABLE report_facts ADD COLUMN end_date TEXT;
UPDATE report_facts SET end_date = (SELECT i.actual_end FROM interventions i WHERE i.id = report_facts.intervention_id);
