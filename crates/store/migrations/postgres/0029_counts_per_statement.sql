-- Interventions counted once per statement on PostgreSQL (issue 13). The row trigger of 0026
-- ran a PL/pgSQL upsert for every intervention: a million-row import paid a million of them.
-- Statement triggers with transition tables count each insert, update or delete statement's
-- rows by group and apply one change per group, in the same transaction as before. (SQLite's
-- row triggers run inside the engine without a procedural language and stay as they are.)
DROP TRIGGER interventions_counted_insert ON interventions;
DROP TRIGGER interventions_counted_update ON interventions;
DROP FUNCTION count_interventions();

-- One function for the three events: the rows a statement removed count −1 in their group,
-- those it added +1, and only the groups whose count changed are written (an update that does
-- not move an intervention between groups writes nothing). Groups are written in key order,
-- so that two transactions writing interventions at once (an import's two lanes, two app
-- servers) lock their count rows in the same order and wait for each other instead of
-- deadlocking.
CREATE FUNCTION count_intervention_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO intervention_counts AS c (programme_id, organisation_id, intervention_type, status, started, import_id, n)
        SELECT programme_id, organisation_id, intervention_type, status,
               CASE WHEN actual_start IS NULL THEN 0 ELSE 1 END, COALESCE(import_id, 0), COUNT(*)
        FROM added GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (programme_id, organisation_id, intervention_type, status, started, import_id)
        DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO intervention_counts AS c (programme_id, organisation_id, intervention_type, status, started, import_id, n)
        SELECT programme_id, organisation_id, intervention_type, status,
               CASE WHEN actual_start IS NULL THEN 0 ELSE 1 END, COALESCE(import_id, 0), -COUNT(*)
        FROM removed GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (programme_id, organisation_id, intervention_type, status, started, import_id)
        DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO intervention_counts AS c (programme_id, organisation_id, intervention_type, status, started, import_id, n)
        SELECT programme_id, organisation_id, intervention_type, status, started, import_id, SUM(n)
        FROM (SELECT programme_id, organisation_id, intervention_type, status,
                     CASE WHEN actual_start IS NULL THEN 0 ELSE 1 END AS started, COALESCE(import_id, 0) AS import_id,
                     1 AS n
              FROM added
              UNION ALL
              SELECT programme_id, organisation_id, intervention_type, status,
                     CASE WHEN actual_start IS NULL THEN 0 ELSE 1 END, COALESCE(import_id, 0), -1
              FROM removed) moved
        GROUP BY 1, 2, 3, 4, 5, 6
        HAVING SUM(n) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (programme_id, organisation_id, intervention_type, status, started, import_id)
        DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;

-- PostgreSQL allows transition tables only on single-event triggers without a column list.
CREATE TRIGGER interventions_counted_insert AFTER INSERT ON interventions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION count_intervention_changes();
CREATE TRIGGER interventions_counted_update AFTER UPDATE ON interventions
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION count_intervention_changes();
CREATE TRIGGER interventions_counted_delete AFTER DELETE ON interventions
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION count_intervention_changes();
