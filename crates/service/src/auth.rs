//! Authentication: argon2id passwords with lock-out, server-side sessions, API tokens.

use crate::audit::{now, record_system};
use crate::{Actor, Result, Service, ServiceError};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{Duration, SecondsFormat, Utc};
use percorsi_domain::codes::Role;
use percorsi_store::{MembershipRow, Mode, Tx};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A valid argon2id hash of nothing anyone knows, checked for unknown usernames.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Bb5wR0bqGKMQwCc5BoUMQqsZKtS/v2tBhWdqlJ6nE4";

/// Consecutive failures before an account is locked, and for how long.
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCK_MINUTES: i64 = 15;
/// Sessions expire after this much inactivity.
pub const SESSION_IDLE_MINUTES: i64 = 240;

/// Hashes a password on the blocking pool: argon2 is deliberately slow, and on an async worker
/// it would stall every other request served by that worker.
pub async fn hash_password_off_thread(password: &str) -> Result<String> {
    let password = password.to_string();
    crate::off_thread(move || hash_password(&password)).await?
}

async fn verify_password_off_thread(password: &str, hash: &str) -> Result<bool> {
    let (password, hash) = (password.to_string(), hash.to_string());
    crate::off_thread(move || verify_password(&password, &hash)).await
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ServiceError::Conflict("err-password-hash"))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// A new session with its own CSRF token; returns the cookie's secret (stored only hashed).
async fn start_session(tx: &mut Tx, user_id: i64, membership_id: Option<i64>, expires_at: &str) -> Result<String> {
    let (token, token_hash) = new_secret();
    let (csrf, _) = new_secret();
    tx.insert_session(&token_hash, user_id, membership_id, &csrf, expires_at).await?;
    Ok(token)
}

/// A random secret for a cookie or a token, and the SHA-256 under which it is stored.
fn new_secret() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let digest = digest(&secret);
    (secret, digest)
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn ts(d: chrono::DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub struct LoginOk {
    pub session_token: String,
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
    /// Checks a password; locks the account after repeated failures. Unknown users and wrong
    /// passwords get the same answer so that usernames cannot be discovered.
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginOk> {
        let username = username.trim().to_lowercase();
        let mut tx = self.store().read().await?;
        let user = tx.user_by_username(&username).await?;
        tx.commit().await?;
        // The password is checked outside any transaction and off the async workers.
        let Some(user) = user else {
            // Spend the same time as a real check.
            verify_password_off_thread(password, DUMMY_HASH).await?;
            let mut tx = self.store().write().await?;
            record_system(&mut tx, &username, None, "login_failed", "user", None, "utente sconosciuto").await?;
            tx.commit().await?;
            return Err(ServiceError::Unauthenticated);
        };
        let password_ok = verify_password_off_thread(password, &user.password_hash).await?;
        let mut tx = self.store().write().await?;
        // Judged on the account as it is now: another login may have failed or locked it meanwhile.
        let user = tx.user(user.id).await?.ok_or(ServiceError::Unauthenticated)?;
        let now_ts = now();
        if let Some(until) = user.locked_until.as_deref().filter(|u| *u > now_ts.as_str()) {
            record_system(
                &mut tx,
                &username,
                Some(user.id),
                "login_refused",
                "user",
                Some(user.id.to_string()),
                "account bloccato",
            )
            .await?;
            tx.commit().await?;
            return Err(ServiceError::Locked(until.to_string()));
        }
        if !user.active || !password_ok {
            let failed = user.failed_logins + 1;
            let lock = (failed >= MAX_FAILED_LOGINS).then(|| ts(Utc::now() + Duration::minutes(LOCK_MINUTES)));
            tx.record_login_failure(user.id, if lock.is_some() { 0 } else { failed }, lock.as_deref()).await?;
            record_system(
                &mut tx,
                &username,
                Some(user.id),
                "login_failed",
                "user",
                Some(user.id.to_string()),
                "password errata o utente disattivato",
            )
            .await?;
            tx.commit().await?;
            return Err(match lock {
                Some(until) => ServiceError::Locked(until),
                None => ServiceError::Unauthenticated,
            });
        }
        tx.record_login_failure(user.id, 0, None).await?;
        let active: Vec<MembershipRow> =
            tx.memberships_of_user(user.id).await?.into_iter().filter(MembershipRow::usable).collect();
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
        let expires = ts(Utc::now() + Duration::minutes(SESSION_IDLE_MINUTES));
        let token = start_session(&mut tx, user.id, chosen, &expires).await?;
        record_system(&mut tx, &username, Some(user.id), "login", "user", Some(user.id.to_string()), "accesso").await?;
        tx.commit().await?;
        Ok(LoginOk { session_token: token })
    }

    /// Resolves a session cookie; extends the idle timeout as the user works.
    pub async fn session(&self, token: &str) -> Result<Option<SessionInfo>> {
        let token_hash = digest(token);
        let mut tx = self.store().read().await?;
        let Some(s) = tx.session(&token_hash, &now()).await? else {
            return Ok(None);
        };
        let Some(user) = tx.user(s.user_id).await? else {
            return Ok(None);
        };
        let memberships: Vec<MembershipRow> =
            tx.memberships_of_user(s.user_id).await?.into_iter().filter(MembershipRow::usable).collect();
        if memberships.is_empty() {
            // The user's organisations were deactivated (or every role revoked): the session ends.
            return Ok(None);
        }
        let actor = match s.membership_id.and_then(|id| memberships.iter().find(|m| m.id == id)) {
            Some(m) => actor_with_glass(&mut tx, m).await?,
            None => None,
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
        }))
    }

    /// Switches the organisation and role the session acts in; only the user's own active roles.
    /// The session is replaced by a new one (new cookie, new CSRF token): a session id seen
    /// before the switch is worth nothing after it. Returns the actor and the new session token.
    pub async fn choose_membership(&self, token: &str, membership_id: i64) -> Result<(Actor, String)> {
        let token_hash = digest(token);
        let mut tx = self.store().write().await?;
        let s = tx.session(&token_hash, &now()).await?.ok_or(ServiceError::Unauthenticated)?;
        let m = tx
            .membership(membership_id)
            .await?
            .filter(|m| m.user_id == s.user_id && m.usable())
            .ok_or(ServiceError::Forbidden)?;
        let actor = actor_from(&m).ok_or(ServiceError::Forbidden)?;
        tx.delete_session(&token_hash).await?;
        let new_token = start_session(&mut tx, s.user_id, Some(m.id), &s.expires_at).await?;
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
    pub async fn create_api_token(&self, membership_id: i64, name: &str, days: Option<i64>) -> Result<String> {
        let name = name.trim();
        if name.is_empty() {
            return Err(percorsi_domain::Invalid::one("name", "err-required").into());
        }
        let mut tx = self.store().write().await?;
        let m = tx.membership(membership_id).await?.filter(MembershipRow::usable).ok_or(ServiceError::NotFound)?;
        let (token, token_hash) = new_secret();
        let expires = days.map(|d| ts(Utc::now() + Duration::days(d)));
        let id = tx.insert_api_token(&token_hash, name, m.id, expires.as_deref()).await?;
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
        let rows = tx.api_tokens().await?;
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
        let Some(t) = tx.api_token(&digest(secret), &now()).await? else {
            return Ok(None);
        };
        let actor = match tx.membership(t.membership_id).await? {
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
    fn password_hash_round_trip() {
        let h = super::hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify_password("correct horse battery", &h));
        assert!(!super::verify_password("wrong", &h));
        assert!(!super::verify_password("x", "not a hash"));
    }
}
