-- The work-insertion protocol: instruments, programmes with versioned rules, interventions,
-- their lifecycle events, the budget ledger, attendance and filled forms.

CREATE TABLE instruments (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    version BIGINT NOT NULL,
    kind TEXT NOT NULL,
    definition TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    UNIQUE (code, version)
);

CREATE TABLE programmes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- A rule change inserts a new version; interventions point at the version they started under.
CREATE TABLE programme_rules (
    id INTEGER PRIMARY KEY,
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    intervention_type TEXT NOT NULL,
    version BIGINT NOT NULL,
    min_months BIGINT NOT NULL,
    max_months BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    amount_kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    UNIQUE (programme_id, intervention_type, version)
);

CREATE TABLE programme_participants (
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    budget_cents BIGINT NOT NULL,
    PRIMARY KEY (programme_id, organisation_id)
);

CREATE TABLE programme_quotas (
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    intervention_type TEXT NOT NULL,
    planned BIGINT NOT NULL,
    PRIMARY KEY (programme_id, organisation_id, intervention_type)
);

CREATE TABLE interventions (
    id INTEGER PRIMARY KEY,
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    rule_id BIGINT NOT NULL REFERENCES programme_rules(id),
    person_id BIGINT NOT NULL REFERENCES persons(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    case_manager_id BIGINT NOT NULL REFERENCES users(id),
    intervention_type TEXT NOT NULL,
    host_organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    tutor_id BIGINT REFERENCES users(id),
    planned_start TEXT NOT NULL,
    planned_end TEXT NOT NULL,
    actual_start TEXT,
    actual_end TEXT,
    weekly_days BIGINT NOT NULL,
    weekly_hours BIGINT NOT NULL,
    monthly_amount_cents BIGINT NOT NULL,
    status TEXT NOT NULL,
    relapse_count BIGINT,
    legal_substance_use INTEGER,
    illegal_substance_use INTEGER,
    outcome TEXT,
    positive_kind TEXT,
    interruption_reason TEXT,
    interruption_text TEXT,
    contract_kind TEXT,
    contract_date TEXT,
    contract_employer TEXT,
    evaluation TEXT,
    created_at TEXT NOT NULL
);
-- Covers the programme overview's counts (index-only scan).
CREATE INDEX interventions_programme_org ON interventions(programme_id, organisation_id, intervention_type, status, actual_start);
CREATE INDEX interventions_person ON interventions(person_id);
CREATE INDEX interventions_tutor ON interventions(tutor_id, host_organisation_id);

CREATE TABLE intervention_events (
    id INTEGER PRIMARY KEY,
    intervention_id BIGINT NOT NULL REFERENCES interventions(id),
    transition TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    event_date TEXT NOT NULL,
    note TEXT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    at TEXT NOT NULL
);
CREATE INDEX intervention_events_intervention ON intervention_events(intervention_id);

-- commit: activation or prolongation; pay: a monthly payment; release: what an early end frees.
CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY,
    programme_id BIGINT NOT NULL REFERENCES programmes(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    intervention_id BIGINT NOT NULL REFERENCES interventions(id),
    kind TEXT NOT NULL CHECK (kind IN ('commit', 'pay', 'release')),
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    month TEXT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    at TEXT NOT NULL
);
-- Covers the balances' sums (index-only scan).
CREATE INDEX ledger_entries_programme_org ON ledger_entries(programme_id, organisation_id, kind, amount_cents);
CREATE INDEX ledger_entries_intervention ON ledger_entries(intervention_id, kind);
CREATE UNIQUE INDEX ledger_entries_one_payment_a_month ON ledger_entries(intervention_id, month) WHERE kind = 'pay';

CREATE TABLE attendance (
    intervention_id BIGINT NOT NULL REFERENCES interventions(id),
    month TEXT NOT NULL,
    days_planned BIGINT NOT NULL,
    days_present BIGINT NOT NULL,
    note TEXT,
    recorded_by BIGINT NOT NULL REFERENCES users(id),
    at TEXT NOT NULL,
    PRIMARY KEY (intervention_id, month)
);

CREATE TABLE assessments (
    id INTEGER PRIMARY KEY,
    intervention_id BIGINT NOT NULL REFERENCES interventions(id),
    instrument_id BIGINT NOT NULL REFERENCES instruments(id),
    kind TEXT NOT NULL,
    assessed_on TEXT NOT NULL,
    answers TEXT NOT NULL,
    scores TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users(id),
    author_org BIGINT NOT NULL REFERENCES organisations(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (intervention_id, kind)
);
