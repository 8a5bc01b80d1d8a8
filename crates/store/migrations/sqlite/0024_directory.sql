-- The opportunities catalogue as a directory (issue 16): where and how to reach each
-- opportunity, the fields Open Referral (HSDS 3.0) publishes, and the identifier an imported
-- directory gave it (importing the same directory again updates, never duplicates).
ALTER TABLE opportunities ADD COLUMN address TEXT;
ALTER TABLE opportunities ADD COLUMN city TEXT;
ALTER TABLE opportunities ADD COLUMN postal_code TEXT;
ALTER TABLE opportunities ADD COLUMN province TEXT;
ALTER TABLE opportunities ADD COLUMN phone TEXT;
ALTER TABLE opportunities ADD COLUMN email TEXT;
ALTER TABLE opportunities ADD COLUMN url TEXT;
ALTER TABLE opportunities ADD COLUMN schedule TEXT;
ALTER TABLE opportunities ADD COLUMN eligibility TEXT;
ALTER TABLE opportunities ADD COLUMN languages TEXT;
ALTER TABLE opportunities ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX opportunities_external ON opportunities(organisation_id, external_id) WHERE external_id IS NOT NULL;
