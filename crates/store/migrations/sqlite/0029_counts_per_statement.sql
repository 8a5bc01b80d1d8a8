-- PostgreSQL only: interventions are counted per statement there (see its 0029). SQLite's row
-- triggers of 0026 run inside the engine and stay as they are.
--
-- A correction to 0028's comment: SQLite's plan for the person search looks each visible
-- person's identity up by its primary key; it does not use `person_identities_names`.
-- PostgreSQL reads the names shown in a list from that index alone (an index-only scan per
-- row). The index stays on both engines, which keep the same schema.
SELECT 1;
