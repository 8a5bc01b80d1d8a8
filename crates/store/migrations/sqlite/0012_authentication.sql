-- Authentication beyond the password (ASVS V2.7, V2.8, V3.7): a second factor, re-authentication
-- before sensitive actions, and single sign-on through OpenID Connect.

-- The TOTP secret is never stored: it is derived from the installation's secret key and this
-- random nonce, so a copy of the database alone does not give anyone the user's codes.
ALTER TABLE users ADD COLUMN totp_nonce TEXT;
-- A secret shown for enrolment, not yet confirmed with a code.
ALTER TABLE users ADD COLUMN totp_pending_nonce TEXT;
-- The last 30-second step a code was accepted for: a code is good once (V2.8.4).
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
-- The value of the identity provider's configured claim (e.g. the fiscal number) that signs
-- in as this account; set by an administrator, never created from a sign-in.
ALTER TABLE users ADD COLUMN sso_subject TEXT;
CREATE UNIQUE INDEX users_sso_subject ON users(sso_subject);

-- Single-use recovery codes for a lost authenticator, stored keyed-hashed.
CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL UNIQUE,
    used_at TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

-- Per organisation: a second factor for every role (administrators, auditors and analysts need
-- one everywhere), and whether local passwords may be used at all (otherwise single sign-on).
ALTER TABLE organisations ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT FALSE;
ALTER TABLE organisations ADD COLUMN password_login INTEGER NOT NULL DEFAULT TRUE;

-- A session's stage: 'code' (password right, second factor awaited), 'enrol' (must enrol a
-- second factor before anything else) or 'full'; how the user signed in; and when they last
-- proved who they are (sign-in or re-authentication), which sensitive actions check.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full';
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
ALTER TABLE sessions ADD COLUMN authenticated_at TEXT NOT NULL DEFAULT '';

-- An OpenID Connect sign-in under way: the state sent to the provider, with the nonce and the
-- PKCE verifier to check its answer; kept in the database so any app server can finish it.
CREATE TABLE oidc_pending (
    state TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_path TEXT NOT NULL,
    -- The session re-authenticating through the provider, or NULL for a sign-in.
    session_hash TEXT,
    created_at TEXT NOT NULL
);
