-- What each organisation has committed, been paid and released in a programme, kept by the
-- store in the same transaction as each ledger entry (the only way entries are written), so a
-- balance is one row instead of a sum over every entry of the programme.
CREATE TABLE programme_balances (
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    committed_cents BIGINT NOT NULL,
    paid_cents BIGINT NOT NULL,
    released_cents BIGINT NOT NULL,
    PRIMARY KEY (programme_id, organisation_id)
);

INSERT INTO programme_balances (programme_id, organisation_id, committed_cents, paid_cents, released_cents)
SELECT programme_id, organisation_id,
       CAST(COALESCE(SUM(CASE WHEN kind = 'commit' THEN amount_cents ELSE 0 END), 0) AS BIGINT),
       CAST(COALESCE(SUM(CASE WHEN kind = 'pay' THEN amount_cents ELSE 0 END), 0) AS BIGINT),
       CAST(COALESCE(SUM(CASE WHEN kind = 'release' THEN amount_cents ELSE 0 END), 0) AS BIGINT)
FROM ledger_entries
GROUP BY programme_id, organisation_id;
