-- Failed sign-ins counted per key ("user:<name>", whether or not the account exists, and
-- "ip:<address>"): each failure past a few asks for a longer wait before the next attempt is
-- checked. Nothing is ever locked: after the wait the right password works.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at TEXT NOT NULL
);
