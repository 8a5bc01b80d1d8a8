-- Read paths under load (issue 10). Every list and record a case manager opens first decides
-- which people the organisation sees; these indexes answer the episode and consent grounds of
-- that rule from the index alone (index-only scans) instead of visiting one heap row per
-- episode or consent. (The SQLite migration also rebuilds three one-to-one tables keyed by the
-- row id; PostgreSQL's primary keys need no such change.)
DROP INDEX care_episodes_org_person;
CREATE INDEX care_episodes_org_person ON care_episodes(organisation_id, person_id, start_date, end_date);
DROP INDEX consents_org_person;
CREATE INDEX consents_org_person ON consents(organisation_id, person_id, revoked_at, start_date, expiry_date, purpose);
