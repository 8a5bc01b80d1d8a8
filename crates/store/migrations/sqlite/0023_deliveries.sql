-- Notifications that leave Percorsi (issue 16, ADR 0018): e-mails to users who asked for
-- them and signed webhook calls to an organisation's systems. Both are written to the outbox
-- in the transaction of the change they announce, so a delivery exists exactly when the
-- change does, and a mail server or receiver outage delays it without losing it.

-- A user's e-mail settings: the address, the language, the events wanted.
CREATE TABLE mail_preferences (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    address TEXT NOT NULL,
    language TEXT NOT NULL CHECK (language IN ('it', 'en')),
    events TEXT NOT NULL,
    last_digest TEXT,
    updated_at TEXT NOT NULL
);

-- An organisation's endpoints for its events, with the secret that signs each delivery.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX webhooks_organisation ON webhooks(organisation_id);

-- What is to be delivered. `payload` is the JSON sent (webhooks) or the counts a mail states
-- (digests); never a person's name, code or health data. `dedupe_key` makes one digest per
-- user and day however many app servers prepare it. A delivery is claimed by one server for a
-- while (`claimed_until`), tried, then marked delivered, rescheduled or failed.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    event TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id),
    webhook_id BIGINT REFERENCES webhooks(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    payload TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    delivered_at TEXT,
    failed_at TEXT,
    last_error TEXT,
    CHECK ((channel = 'email') = (user_id IS NOT NULL)),
    CHECK ((channel = 'webhook') = (webhook_id IS NOT NULL))
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_webhook ON outbox(webhook_id, id);

-- Every try of every delivery: when, what came back. The webhook page shows it.
CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES outbox(id),
    attempted_at TEXT NOT NULL,
    ok BOOLEAN NOT NULL,
    status BIGINT,
    error TEXT
);
CREATE INDEX delivery_attempts_outbox ON delivery_attempts(outbox_id);
