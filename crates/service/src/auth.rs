//! Authentication: argon2id passwords with throttling (never lock-out), server-side sessions,
//! API tokens.

use crate::audit::{now, record_system, ts};
use crate::{Actor, Result, Service, ServiceError};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use chrono::{Duration, Utc};
use percorsi_domain::codes::Role;
use percorsi_store::{MembershipRow, Mode, NewSession, Tx};
use rand::Rng;
use sha2::{Digest, Sha256};

/// A valid argon2id hash of nothing anyone knows, checked for unknown usernames.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Bb5wR0bqGKMQwCc5BoUMQqsZKtS/v2tBhWdqlJ6nE4";

/// Failed sign-ins for a username (existing or not) before each further attempt waits, and the
/// same for a source address (offices share one behind NAT, so it allows more); the wait doubles
/// with each failure up to [`MAX_WAIT_SECONDS`]. Nobody is ever locked out: after the wait the
/// right password works.
pub const FREE_FAILURES_PER_USER: i64 = 3;
pub const FREE_FAILURES_PER_ADDRESS: i64 = 20;
pub const MAX_WAIT_SECONDS: i64 = 60;

/// How long after the last failure the next attempt must wait, given the failures so far.
pub fn wait_after(failures: i64, free: i64) -> i64 {
    if failures < free {
        0
    } else {
        1i64.checked_shl((failures - free).min(16) as u32).unwrap_or(MAX_WAIT_SECONDS).min(MAX_WAIT_SECONDS)
    }
}

/// The throttling keys of an attempt: the username as typed (so unknown names behave exactly as
/// real ones) and the source address when known.
fn throttle_keys(username: &str, source: Option<&str>) -> Vec<(String, i64)> {
    let mut keys = vec![(format!("user:{username}"), FREE_FAILURES_PER_USER)];
    if let Some(addr) = source {
        keys.push((format!("ip:{addr}"), FREE_FAILURES_PER_ADDRESS));
    }
    keys
}
/// API tokens expire after this many days unless created with another duration.
pub const DEFAULT_TOKEN_DAYS: i64 = 90;

/// Sessions expire after this much inactivity…
pub const SESSION_IDLE_MINUTES: i64 = 30;
/// …and this long after signing in, however active (ASVS V3.3.2); a role switch does not
/// restart the count.
pub const SESSION_ABSOLUTE_HOURS: i64 = 12;

/// A session waiting for its second factor lasts this long.
pub const CODE_STAGE_MINUTES: i64 = 5;

/// Where a session is in signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SessionStage {
    /// The password was right; the second factor is awaited. Nothing else is reachable.
    Code,
    /// Signed in, but a second factor is required and not enrolled: only its enrolment is
    /// reachable.
    Enrol,
    Full,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::Code => "code",
            SessionStage::Enrol => "enrol",
            SessionStage::Full => "full",
        }
    }

    fn parse(s: &str) -> SessionStage {
        match s {
            "code" => SessionStage::Code,
            "enrol" => SessionStage::Enrol,
            // Sessions from before stages existed were full ones.
            _ => SessionStage::Full,
        }
    }
}

/// The oldest sign-in a session may still come from.
pub(crate) fn signed_in_after() -> String {
    ts(Utc::now() - Duration::hours(SESSION_ABSOLUTE_HOURS))
}

/// Hashes a password on the blocking pool: argon2 is deliberately slow, and on an async worker
/// it would stall every other request served by that worker.
pub async fn hash_password_off_thread(password: &str) -> Result<String> {
    let password = password.to_string();
    crate::off_thread(move || hash_password(&password)).await?
}

pub(crate) async fn verify_password_off_thread(password: &str, hash: &str) -> Result<bool> {
    let (password, hash) = (password.to_string(), hash.to_string());
    crate::off_thread(move || verify_password(&password, &hash)).await
}

/// An argon2id hash in PHC format with a fresh random salt (from the operating system).
pub fn hash_password(password: &str) -> Result<String> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|_| ServiceError::Conflict("err-password-hash"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches a stored PHC hash; a hash that does not parse never matches.
fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// A new session with its own CSRF token; returns the cookie's secret (stored only hashed).
pub(crate) async fn start_session(tx: &mut Tx, s: &NewSession<'_>) -> Result<String> {
    let (token, token_hash) = new_secret();
    let (csrf, _) = new_secret();
    tx.insert_session(&token_hash, &csrf, s).await?;
    Ok(token)
}

/// Replaces a session that was waiting (for its second factor or its enrolment) by a full one
/// with a new cookie and CSRF token, the user having just proved who they are.
pub(crate) async fn promote_session(tx: &mut Tx, token: &str, method: &str) -> Result<String> {
    let token_hash = digest(token);
    let s = tx.session(&token_hash, &now(), &signed_in_after()).await?.ok_or(ServiceError::Unauthenticated)?;
    tx.delete_session(&token_hash).await?;
    let at = now();
    let expires = ts(Utc::now() + Duration::minutes(SESSION_IDLE_MINUTES));
    let new = NewSession {
        user_id: s.user_id,
        membership_id: s.membership_id,
        created_at: &at,
        expires_at: &expires,
        stage: SessionStage::Full.as_str(),
        method,
        authenticated_at: &at,
    };
    start_session(tx, &new).await
}

/// Refuses an attempt while any of its keys still has to wait after earlier failures.
pub(crate) fn check_throttle(failures: &[(String, i64, String)], free_for: impl Fn(&str) -> i64) -> Result<()> {
    let started = Utc::now();
    for (key, count, last) in failures {
        let ready = chrono::DateTime::parse_from_rfc3339(last)
            .map(|t| t.with_timezone(&Utc) + Duration::seconds(wait_after(*count, free_for(key))))
            .unwrap_or(started);
        if ready > started {
            return Err(ServiceError::Throttled((ready - started).num_seconds() + 1));
        }
    }
    Ok(())
}

/// A random secret for a cookie or a token, and the SHA-256 under which it is stored.
fn new_secret() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let digest = digest(&secret);
    (secret, digest)
}

pub(crate) fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub struct LoginOk {
    pub session_token: String,
    /// Whether the session is complete or waits for a second factor (or its enrolment).
    pub stage: SessionStage,
}

/// Never prints the session secret (logs, test failures).
impl std::fmt::Debug for LoginOk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginOk { session_token: \"…\" }")
    }
}

/// A session as the web layer needs it on every request.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub csrf_token: String,
    pub memberships: Vec<MembershipRow>,
    /// `None` until the user has chosen an organisation and role (when they hold several).
    pub actor: Option<Actor>,
    pub stage: SessionStage,
    /// How the user signed in: "password" or "oidc".
    pub method: String,
    pub authenticated_at: String,
}

pub fn actor_from(m: &MembershipRow) -> Option<Actor> {
    Some(Actor {
        user_id: m.user_id,
        username: m.username.clone(),
        display_name: m.display_name.clone(),
        membership_id: m.id,
        organisation_id: m.organisation_id,
        organisation_name: m.organisation_name.clone(),
        organisation_kind: m.organisation_kind.clone(),
        role: Role::parse(&m.role)?,
        glass: Vec::new(),
        authenticated_at: None,
    })
}

/// The actor of a membership with the break-the-glass grants it holds now.
async fn actor_with_glass<M: Mode>(tx: &mut Tx<M>, m: &MembershipRow) -> Result<Option<Actor>> {
    let Some(mut actor) = actor_from(m) else { return Ok(None) };
    actor.glass = tx
        .glass_in_force(actor.user_id, actor.organisation_id, &now())
        .await?
        .into_iter()
        .map(|g| crate::actor::GlassGrant {
            id: g.id,
            person_id: g.person_id,
            person_code: g.person_code,
            expires_at: g.expires_at,
        })
        .collect();
    Ok(Some(actor))
}

impl Service {
    /// Checks a password. Unknown users, disabled accounts and wrong passwords get the same
    /// answer after the same work (a hash check); repeated failures for a username or from an
    /// address make the next attempt wait (429 with the seconds), never lock the account.
    /// Failures are counted, and audited once per burst, not once each.
    pub async fn login(&self, username: &str, password: &str, source: Option<&str>) -> Result<LoginOk> {
        let username = username.trim().to_lowercase();
        let keys = throttle_keys(&username, source);
        let key_names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        let mut tx = self.store().read().await?;
        let failures = tx.login_failures(&key_names).await?;
        let user = tx.user_by_username(&username).await?;
        tx.commit().await?;
        check_throttle(&failures, |key| {
            keys.iter().find(|(k, _)| k == key).map_or(FREE_FAILURES_PER_USER, |(_, f)| *f)
        })?;
        // The password is checked outside any transaction and off the async workers, against a
        // hash nobody knows when the account does not exist: the same time either way.
        let hash = user.as_ref().map_or(DUMMY_HASH, |u| u.password_hash.as_str());
        let password_ok = verify_password_off_thread(password, hash).await?;
        let mut tx = self.store().write().await?;
        // Judged on the account as it is now.
        let user = match user {
            Some(u) => tx.user(u.id).await?,
            None => None,
        };
        let Some(user) = user.filter(|u| u.active && password_ok) else {
            let at = now();
            let mut burst_start = false;
            for (key, _) in &keys {
                let n = tx.count_login_failure(key, &at).await?;
                burst_start |= key.starts_with("user:") && n == 1;
            }
            if burst_start {
                let reason = "accesso non riuscito (inizio di una serie di tentativi; i successivi sono contati)";
                record_system(&mut tx, &username, None, "login_failed", "user", None, reason).await?;
            }
            tx.commit().await?;
            return Err(ServiceError::Unauthenticated);
        };
        let previous = failures.iter().find(|(k, _, _)| k.starts_with("user:")).map_or(0, |(_, n, _)| *n);
        tx.clear_login_failures(&keys[0].0).await?;
        let all: Vec<MembershipRow> =
            tx.memberships_of_user(user.id).await?.into_iter().filter(MembershipRow::usable).collect();
        let active: Vec<MembershipRow> = all.iter().filter(|m| m.organisation_password_login).cloned().collect();
        if active.is_empty() && !all.is_empty() {
            // Right password, but every organisation of the user signs in through its identity
            // provider only.
            let reason = "password locale non ammessa dagli enti dell'utente";
            let id = Some(user.id.to_string());
            record_system(&mut tx, &username, Some(user.id), "login_refused", "user", id, reason).await?;
            tx.commit().await?;
            return Err(ServiceError::Conflict("err-login-sso-only"));
        }
        if active.is_empty() {
            // Every role is revoked or at a deactivated organisation: nothing to act as.
            let reason = "nessun ruolo attivo in un ente attivo";
            record_system(
                &mut tx,
                &username,
                Some(user.id),
                "login_refused",
                "user",
                Some(user.id.to_string()),
                reason,
            )
            .await?;
            tx.commit().await?;
            return Err(ServiceError::Unauthenticated);
        }
        let chosen = (active.len() == 1).then(|| active[0].id);
        let stage = if user.totp_enabled {
            SessionStage::Code
        } else if self.second_factor_required(&active) {
            SessionStage::Enrol
        } else {
            SessionStage::Full
        };
        let minutes = if stage == SessionStage::Code { CODE_STAGE_MINUTES } else { SESSION_IDLE_MINUTES };
        let (at, expires) = (now(), ts(Utc::now() + Duration::minutes(minutes)));
        let new = NewSession {
            user_id: user.id,
            membership_id: chosen,
            created_at: &at,
            expires_at: &expires,
            stage: stage.as_str(),
            method: "password",
            authenticated_at: &at,
        };
        let token = start_session(&mut tx, &new).await?;
        // With a second factor the sign-in is audited once the code is accepted.
        if stage != SessionStage::Code {
            let reason = if previous > 0 { "accesso dopo tentativi falliti" } else { "accesso" };
            let id = Some(user.id.to_string());
            record_system(&mut tx, &username, Some(user.id), "login", "user", id, reason).await?;
        }
        tx.commit().await?;
        Ok(LoginOk { session_token: token, stage })
    }

    /// Asks the signed-in user for their password again before a sensitive action (ASVS
    /// V3.7.1); throttled like signing in.
    pub async fn reauthenticate(&self, session: &SessionInfo, token: &str, password: &str) -> Result<()> {
        let key = format!("user:{}", session.username);
        let mut tx = self.store().read().await?;
        let failures = tx.login_failures(std::slice::from_ref(&key)).await?;
        let user = tx.user(session.user_id).await?.ok_or(ServiceError::Unauthenticated)?;
        tx.commit().await?;
        check_throttle(&failures, |_| FREE_FAILURES_PER_USER)?;
        let ok = verify_password_off_thread(password, &user.password_hash).await?;
        let mut tx = self.store().write().await?;
        if !ok {
            tx.count_login_failure(&key, &now()).await?;
            tx.commit().await?;
            return Err(percorsi_domain::Invalid::one("password", "err-password-current").into());
        }
        tx.clear_login_failures(&key).await?;
        tx.set_session_authenticated(&digest(token), &now()).await?;
        let id = Some(user.id.to_string());
        record_system(
            &mut tx,
            &user.username,
            Some(user.id),
            "reauthenticate",
            "session",
            id,
            "conferma dell'identità",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Resolves a session cookie; extends the idle timeout as the user works.
    pub async fn session(&self, token: &str) -> Result<Option<SessionInfo>> {
        let token_hash = digest(token);
        let mut tx = self.store().read().await?;
        let Some(s) = tx.session(&token_hash, &now(), &signed_in_after()).await? else {
            return Ok(None);
        };
        let Some(user) = tx.user(s.user_id).await? else {
            return Ok(None);
        };
        // A password session acts only where local passwords are allowed.
        let memberships: Vec<MembershipRow> = tx
            .memberships_of_user(s.user_id)
            .await?
            .into_iter()
            .filter(|m| m.usable() && (s.method != "password" || m.organisation_password_login))
            .collect();
        if memberships.is_empty() {
            // The user's organisations were deactivated (or every role revoked): the session ends.
            return Ok(None);
        }
        let stage = SessionStage::parse(&s.stage);
        let actor = match s.membership_id.and_then(|id| memberships.iter().find(|m| m.id == id)) {
            Some(m) if stage == SessionStage::Full => actor_with_glass(&mut tx, m).await?.map(|mut a| {
                a.authenticated_at = Some(s.authenticated_at.clone());
                a
            }),
            _ => None,
        };
        tx.commit().await?;
        // Extending the idle timeout is a write: done at most every five minutes of activity,
        // so that ordinary page views stay reads.
        let refresh_after = ts(Utc::now() + Duration::minutes(SESSION_IDLE_MINUTES - 5));
        if s.expires_at < refresh_after {
            let mut tx = self.store().write().await?;
            tx.touch_session(&token_hash, &ts(Utc::now() + Duration::minutes(SESSION_IDLE_MINUTES))).await?;
            tx.commit().await?;
        }
        Ok(Some(SessionInfo {
            user_id: user.id,
            username: user.username,
            display_name: user.display_name,
            csrf_token: s.csrf_token,
            memberships,
            actor,
            stage,
            method: s.method,
            authenticated_at: s.authenticated_at,
        }))
    }

    /// Switches the organisation and role the session acts in; only the user's own active roles.
    /// The session is replaced by a new one (new cookie, new CSRF token): a session id seen
    /// before the switch is worth nothing after it. Returns the actor and the new session token.
    pub async fn choose_membership(&self, token: &str, membership_id: i64) -> Result<(Actor, String)> {
        let token_hash = digest(token);
        let mut tx = self.store().write().await?;
        let s = tx.session(&token_hash, &now(), &signed_in_after()).await?.ok_or(ServiceError::Unauthenticated)?;
        if SessionStage::parse(&s.stage) != SessionStage::Full {
            return Err(ServiceError::Unauthenticated);
        }
        let m = tx
            .membership(membership_id)
            .await?
            .filter(|m| {
                m.user_id == s.user_id && m.usable() && (s.method != "password" || m.organisation_password_login)
            })
            .ok_or(ServiceError::Forbidden)?;
        let actor = actor_from(&m).ok_or(ServiceError::Forbidden)?;
        tx.delete_session(&token_hash).await?;
        let new = NewSession {
            user_id: s.user_id,
            membership_id: Some(m.id),
            created_at: &s.created_at,
            expires_at: &s.expires_at,
            stage: &s.stage,
            method: &s.method,
            authenticated_at: &s.authenticated_at,
        };
        let new_token = start_session(&mut tx, &new).await?;
        crate::audit::record(&mut tx, &actor, "switch_role", "session", None, "cambio ente/ruolo", None).await?;
        tx.commit().await?;
        Ok((actor, new_token))
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        let mut tx = self.store().write().await?;
        tx.delete_session(&digest(token)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates an API token acting as one membership; the secret is shown once and stored hashed.
    /// A token for a client application acting as one membership, expiring after `days`
    /// (1–365: no token lives for ever).
    pub async fn create_api_token(&self, membership_id: i64, name: &str, days: i64) -> Result<String> {
        let name = name.trim();
        if name.is_empty() {
            return Err(percorsi_domain::Invalid::one("name", "err-required").into());
        }
        if !(1..=365).contains(&days) {
            return Err(percorsi_domain::Invalid::one("days", "err-token-days").into());
        }
        let mut tx = self.store().write().await?;
        let m = tx.membership(membership_id).await?.filter(MembershipRow::usable).ok_or(ServiceError::NotFound)?;
        let (token, token_hash) = new_secret();
        let expires = ts(Utc::now() + Duration::days(days));
        let id = tx.insert_api_token(&token_hash, name, m.id, Some(&expires)).await?;
        record_system(
            &mut tx,
            &m.username,
            Some(m.user_id),
            "create",
            "api_token",
            Some(id.to_string()),
            "token per client applicativo",
        )
        .await?;
        tx.commit().await?;
        Ok(format!("pct_{token}"))
    }

    /// Every token with its owner and state (CLI).
    pub async fn api_tokens(&self) -> Result<Vec<percorsi_store::ApiTokenListing>> {
        let mut tx = self.store().read().await?;
        let rows = tx.api_tokens(None).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Revokes a token; clients using it are refused from the next request (CLI).
    pub async fn revoke_api_token(&self, id: i64) -> Result<()> {
        let mut tx = self.store().write().await?;
        if !tx.revoke_api_token(id).await? {
            return Err(ServiceError::NotFound);
        }
        record_system(&mut tx, "cli", None, "update", "api_token", Some(id.to_string()), "revoca token").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Resolves `Authorization: Bearer pct_…` to the actor the token acts as.
    pub async fn api_actor(&self, bearer: &str) -> Result<Option<Actor>> {
        let Some(secret) = bearer.strip_prefix("pct_") else {
            return Ok(None);
        };
        let mut tx = self.store().read().await?;
        let actor = match tx.api_token_membership(&digest(secret), &now()).await? {
            Some(m) => actor_with_glass(&mut tx, &m).await?,
            None => None,
        };
        tx.commit().await?;
        Ok(actor)
    }

    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        let mut tx = self.store().write().await?;
        let n = tx.delete_expired_sessions(&now()).await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// Loads a user's active membership for CLI commands that act as a given user.
pub async fn membership_for<M: Mode>(
    tx: &mut Tx<M>,
    username: &str,
    organisation_id: Option<i64>,
    role: Option<Role>,
) -> Result<MembershipRow> {
    let user = tx.user_by_username(username).await?.ok_or(ServiceError::NotFound)?;
    tx.memberships_of_user(user.id)
        .await?
        .into_iter()
        .find(|m| {
            m.usable()
                && organisation_id.is_none_or(|o| o == m.organisation_id)
                && role.is_none_or(|r| r.code() == m.role)
        })
        .ok_or(ServiceError::NotFound)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wait_doubles_past_the_free_failures_and_stops_at_a_minute() {
        use super::{wait_after, MAX_WAIT_SECONDS};
        assert_eq!((0..3).map(|n| wait_after(n, 3)).collect::<Vec<_>>(), vec![0, 0, 0]);
        assert_eq!((3..9).map(|n| wait_after(n, 3)).collect::<Vec<_>>(), vec![1, 2, 4, 8, 16, 32]);
        assert_eq!(wait_after(9, 3), MAX_WAIT_SECONDS);
        assert_eq!(wait_after(10_000, 3), MAX_WAIT_SECONDS, "no overflow, never more than the cap");
    }

    #[test]
    fn password_hash_round_trip() {
        let h = super::hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify_password("correct horse battery", &h));
        assert!(!super::verify_password("wrong", &h));
        assert!(!super::verify_password("x", "not a hash"));
        // Two hashes of one password differ (a fresh salt each time), both verify.
        let again = super::hash_password("correct horse battery").unwrap();
        assert_ne!(h, again);
        assert!(super::verify_password("correct horse battery", &again));
    }

    /// Hashes stored by earlier releases (argon2 0.5) keep working after the upgrade to 0.6:
    /// the parameters and salt are read from the stored PHC string.
    #[test]
    fn hashes_from_the_previous_argon2_release_still_verify() {
        let stored =
            "$argon2id$v=19$m=19456,t=2,p=1$15etjIiwhGPoqFfdoRqMLQ$0g2wv/UsjnL6Nw+ltYS1T+exesM2eyC/bpG8tm0zzzM";
        assert!(super::verify_password("percorsi-bench", stored));
        assert!(!super::verify_password("percorsi-banch", stored));
    }
}
