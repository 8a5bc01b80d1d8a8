-- Where a programme's money comes from (regional fund, national fund for addictions, ESF+, a
-- municipality…): the region reads the budgets per source.
ALTER TABLE programmes ADD COLUMN funding_source TEXT;
