-- The report extract as it stood at a revision, packed in blocks (ADR 0009): a server that
-- starts reads a few large values and then only the facts written since, instead of a million
-- rows one by one. Derived data: it can be deleted at any time and is written again.
CREATE TABLE report_checkpoints (
    -- Every visible fact up to this revision is in the checkpoint (later ones may be too).
    revision BIGINT NOT NULL,
    block BIGINT NOT NULL,
    -- How many blocks the checkpoint has: it is used only when all are there.
    blocks BIGINT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (revision, block)
);
