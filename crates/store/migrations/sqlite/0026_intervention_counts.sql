-- Interventions counted by construction (issue 13). The programme page's planned-vs-actual
-- table grouped every intervention of the programme through a covering index: 0.75 s at a
-- million interventions, and that index (55 MB) took random inserts from every chunk of a
-- historical import (most of a 1M-row import's time). Triggers keep one count per programme,
-- organisation, type, status, started or not, and import (0 for live rows), in the same
-- transaction as every insert, update or delete of an intervention, whoever makes it; the page
-- sums a few hundred rows. The covering index goes.
CREATE TABLE intervention_counts (
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    intervention_type TEXT NOT NULL,
    status TEXT NOT NULL,
    started BIGINT NOT NULL,
    import_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (programme_id, organisation_id, intervention_type, status, started, import_id)
);

INSERT INTO intervention_counts (programme_id, organisation_id, intervention_type, status, started, import_id, n)
    SELECT programme_id, organisation_id, intervention_type, status,
           CASE WHEN actual_start IS NULL THEN 0 ELSE 1 END, COALESCE(import_id, 0), COUNT(*)
    FROM interventions
    GROUP BY programme_id, organisation_id, intervention_type, status,
             CASE WHEN actual_start IS NULL THEN 0 ELSE 1 END, COALESCE(import_id, 0);

CREATE TRIGGER interventions_counted_insert AFTER INSERT ON interventions
BEGIN
    INSERT INTO intervention_counts (programme_id, organisation_id, intervention_type, status, started, import_id, n)
    VALUES (NEW.programme_id, NEW.organisation_id, NEW.intervention_type, NEW.status,
            CASE WHEN NEW.actual_start IS NULL THEN 0 ELSE 1 END, COALESCE(NEW.import_id, 0), 1)
    ON CONFLICT (programme_id, organisation_id, intervention_type, status, started, import_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER interventions_counted_update
AFTER UPDATE OF programme_id, organisation_id, intervention_type, status, actual_start, import_id ON interventions
BEGIN
    UPDATE intervention_counts SET n = n - 1
    WHERE programme_id = OLD.programme_id AND organisation_id = OLD.organisation_id
      AND intervention_type = OLD.intervention_type AND status = OLD.status
      AND started = CASE WHEN OLD.actual_start IS NULL THEN 0 ELSE 1 END AND import_id = COALESCE(OLD.import_id, 0);
    INSERT INTO intervention_counts (programme_id, organisation_id, intervention_type, status, started, import_id, n)
    VALUES (NEW.programme_id, NEW.organisation_id, NEW.intervention_type, NEW.status,
            CASE WHEN NEW.actual_start IS NULL THEN 0 ELSE 1 END, COALESCE(NEW.import_id, 0), 1)
    ON CONFLICT (programme_id, organisation_id, intervention_type, status, started, import_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER interventions_counted_delete AFTER DELETE ON interventions
BEGIN
    UPDATE intervention_counts SET n = n - 1
    WHERE programme_id = OLD.programme_id AND organisation_id = OLD.organisation_id
      AND intervention_type = OLD.intervention_type AND status = OLD.status
      AND started = CASE WHEN OLD.actual_start IS NULL THEN 0 ELSE 1 END AND import_id = COALESCE(OLD.import_id, 0);
END;

DROP INDEX interventions_programme_org;
