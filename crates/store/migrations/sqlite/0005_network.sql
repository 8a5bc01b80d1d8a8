-- The network: referrals between organisations (or self-referrals) and in-app notifications.

CREATE TABLE referrals (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    -- NULL: the person came by themselves (accesso spontaneo).
    from_org BIGINT REFERENCES organisations(id),
    to_org BIGINT NOT NULL REFERENCES organisations(id),
    support TEXT,
    reason TEXT NOT NULL,
    urgency TEXT NOT NULL,
    status TEXT NOT NULL,
    decision_reason TEXT,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    decided_by BIGINT REFERENCES users(id),
    decided_at TEXT
);
CREATE INDEX referrals_to ON referrals(to_org, status);
CREATE INDEX referrals_from ON referrals(from_org, status);
CREATE INDEX referrals_person ON referrals(person_id);

-- Addressed to an organisation; the message is an interface message id with its arguments.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    message TEXT NOT NULL,
    args TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX notifications_org ON notifications(organisation_id, read_at);
