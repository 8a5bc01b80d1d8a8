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

-- The opportunities catalogue and the placements of people into them. A housing placement
-- has no column about treatment, substances or relapses (Housing First).
CREATE TABLE opportunities (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL,
    axis TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    territory TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    housing_kind TEXT,
    support_intensity TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX opportunities_search ON opportunities(territory, axis);

CREATE TABLE placements (
    id INTEGER PRIMARY KEY,
    opportunity_id BIGINT NOT NULL REFERENCES opportunities(id),
    person_id BIGINT NOT NULL REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    project_id BIGINT REFERENCES projects(id),
    objective BIGINT,
    start_date TEXT NOT NULL,
    end_date TEXT,
    end_reason TEXT,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX placements_opportunity ON placements(opportunity_id, end_date);
CREATE INDEX placements_person ON placements(person_id);
