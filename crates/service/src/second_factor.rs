//! The second factor (ASVS V2.7, V2.8): TOTP (RFC 6238) with single-use recovery codes, enrolled
//! from the user's own page and asked after the password; required for the roles that see the
//! whole network or its trail, and for every role of an organisation that asks for it.
//!
//! The TOTP secret is never stored. It is derived from the installation's secret key and a
//! random nonce kept with the user, so a copy of the database alone gives nobody the codes;
//! recovery codes are stored keyed-hashed the same way.

use crate::audit::{now, record_system};
use crate::auth::{digest, SessionInfo, SessionStage};
use crate::{policy, Actor, Result, Service, ServiceError};
use hmac::{Hmac, Mac};
use percorsi_domain::codes::Role;
use percorsi_domain::Invalid;
use percorsi_store::MembershipRow;
use rand::RngExt;
use sha2::Sha256;
use totp_rs::{Algorithm, TOTP};

/// The roles that must use a second factor wherever they act: they see every organisation's
/// users, the whole audit trail, or the network's pseudonymised data.
pub const DEFAULT_MFA_ROLES: [Role; 3] = [Role::Amministratore, Role::Auditor, Role::Analista];

/// How many recovery codes a user holds after enrolment or renewal.
pub const RECOVERY_CODES: usize = 10;

/// Failed codes for one account before each further try must wait (the wait doubles).
pub const FREE_CODE_FAILURES: i64 = 5;

const ISSUER: &str = "Percorsi";
const STEP_SECONDS: u64 = 30;
/// Symbols of recovery codes: no 0/o, 1/l/i to misread.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// What the enrolment page shows: the secret as a QR code and as text to type.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
    /// An SVG drawing of the QR code of `uri`.
    pub qr_svg: String,
}

/// The second-factor part of the account page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SecondFactorView {
    pub enabled: bool,
    /// Whether one of the user's roles or organisations requires it (then it cannot be removed).
    pub required: bool,
    pub recovery_codes_left: i64,
    /// An enrolment under way (the secret shown, not confirmed yet).
    pub enrolment: Option<Enrolment>,
}

/// The answer to a confirmed enrolment: the recovery codes (shown once) and, when the session
/// was waiting for the enrolment, the new session that replaces it.
pub struct Enrolled {
    pub recovery_codes: Vec<String>,
    pub new_session: Option<String>,
}

impl Service {
    fn secret_of(&self, nonce: &str) -> Vec<u8> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.pseudonym_key).expect("HMAC accepts keys of any length");
        mac.update(b"percorsi totp secret\0");
        mac.update(nonce.as_bytes());
        // 160 bits, the length RFC 4226 recommends.
        mac.finalize().into_bytes()[..20].to_vec()
    }

    fn totp(&self, nonce: &str) -> Result<TOTP> {
        TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECONDS, self.secret_of(nonce))
            .map_err(|e| ServiceError::Broken(format!("TOTP parameters: {e:?}")))
    }

    fn recovery_hash(&self, user_id: i64, code: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.pseudonym_key).expect("HMAC accepts keys of any length");
        mac.update(b"percorsi recovery code\0");
        mac.update(user_id.to_string().as_bytes());
        mac.update(b"\0");
        mac.update(normalise_recovery(code).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A fresh set of recovery codes for the user: as shown once, and as stored.
    fn new_recovery_codes(&self, user_id: i64) -> (Vec<String>, Vec<String>) {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes = codes.iter().map(|c| self.recovery_hash(user_id, c)).collect();
        (codes, hashes)
    }

    /// Whether the user must have a second factor: one of their roles is among those that
    /// always need one, or one of their organisations asks it of everyone.
    pub fn second_factor_required(&self, memberships: &[MembershipRow]) -> bool {
        memberships
            .iter()
            .filter(|m| m.usable())
            .any(|m| m.organisation_mfa_required || Role::parse(&m.role).is_some_and(|r| self.mfa_roles().contains(&r)))
    }

    /// The account page's view of the user's second factor.
    pub async fn second_factor(&self, session: &SessionInfo) -> Result<SecondFactorView> {
        let mut tx = self.store().read().await?;
        let state = tx.totp_state(session.user_id).await?;
        let left = tx.recovery_codes_left(session.user_id).await?;
        tx.commit().await?;
        let enrolment = match &state.pending_nonce {
            Some(nonce) if state.nonce.is_none() => Some(self.enrolment(nonce, &session.username)?),
            _ => None,
        };
        Ok(SecondFactorView {
            enabled: state.nonce.is_some(),
            required: self.second_factor_required(&session.memberships),
            recovery_codes_left: left,
            enrolment,
        })
    }

    fn enrolment(&self, nonce: &str, username: &str) -> Result<Enrolment> {
        let totp = self.totp(nonce)?;
        let secret = totp.get_secret_base32();
        let uri = format!(
            "otpauth://totp/{ISSUER}:{username}?secret={secret}&issuer={ISSUER}&algorithm=SHA1&digits=6&period={STEP_SECONDS}"
        );
        let qr_svg = qrcode::QrCode::new(uri.as_bytes())
            .map_err(|e| ServiceError::Broken(format!("QR code: {e}")))?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(180, 180)
            .quiet_zone(true)
            .build();
        // The renderer writes a standalone document; the page embeds only the <svg> element.
        let qr_svg = qr_svg.find("<svg").map_or(qr_svg.clone(), |i| qr_svg[i..].to_string());
        Ok(Enrolment { secret: group_secret(&secret), uri, qr_svg })
    }

    /// Starts an enrolment: a new secret, shown until a code from it is confirmed.
    pub async fn begin_enrolment(&self, session: &SessionInfo) -> Result<()> {
        let mut tx = self.store().write().await?;
        if tx.totp_state(session.user_id).await?.nonce.is_some() {
            return Err(ServiceError::Conflict("err-mfa-already"));
        }
        tx.set_totp_pending(session.user_id, &random_nonce()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Confirms an enrolment with a code from the authenticator: the secret becomes the user's
    /// second factor and ten recovery codes are made (returned once, stored hashed). A session
    /// that was held until the enrolment is replaced by a full one.
    pub async fn confirm_enrolment(&self, session: &SessionInfo, token: &str, code: &str) -> Result<Enrolled> {
        let mut tx = self.store().read().await?;
        let state = tx.totp_state(session.user_id).await?;
        tx.commit().await?;
        let Some(pending) = state.pending_nonce.filter(|_| state.nonce.is_none()) else {
            return Err(ServiceError::Conflict("err-mfa-no-enrolment"));
        };
        let totp = self.totp(&pending)?;
        let Some(step) = matching_step(&totp, code, 0) else {
            return Err(Invalid::one("code", "err-mfa-code").into());
        };
        let (codes, hashes) = self.new_recovery_codes(session.user_id);
        let mut tx = self.store().write().await?;
        if !tx.confirm_totp(session.user_id, &pending, step).await? {
            return Err(ServiceError::Conflict("err-mfa-no-enrolment"));
        }
        tx.replace_recovery_codes(session.user_id, &hashes).await?;
        let new_session = if session.stage == SessionStage::Enrol {
            Some(crate::auth::promote_session(&mut tx, token, "password").await?)
        } else {
            None
        };
        let reason = "secondo fattore attivato (TOTP e codici di recupero)";
        let id = Some(session.user_id.to_string());
        record_system(&mut tx, &session.username, Some(session.user_id), "update", "user", id, reason).await?;
        tx.commit().await?;
        Ok(Enrolled { recovery_codes: codes, new_session })
    }

    /// Checks the second factor of a session waiting for it: a TOTP code (each accepted once)
    /// or an unused recovery code. Failures slow down the next try as for passwords. Returns
    /// the full session that replaces the waiting one.
    pub async fn verify_second_factor(&self, token: &str, code: &str) -> Result<String> {
        let token_hash = digest(token);
        let mut tx = self.store().read().await?;
        let s = tx.session(&token_hash, &now(), &crate::auth::signed_in_after()).await?;
        let Some(s) = s.filter(|s| s.stage == SessionStage::Code.as_str()) else {
            return Err(ServiceError::Unauthenticated);
        };
        let user = tx.user(s.user_id).await?.ok_or(ServiceError::Unauthenticated)?;
        let state = tx.totp_state(s.user_id).await?;
        let key = format!("code:{}", s.user_id);
        let failures = tx.login_failures(std::slice::from_ref(&key)).await?;
        tx.commit().await?;
        crate::auth::check_throttle(&failures, |_| FREE_CODE_FAILURES)?;
        let nonce = state.nonce.ok_or(ServiceError::Unauthenticated)?;
        let totp = self.totp(&nonce)?;
        let at = now();
        let mut tx = self.store().write().await?;
        let accepted = match matching_step(&totp, code, state.last_step) {
            Some(step) => tx.spend_totp_step(s.user_id, step).await?.then_some("accesso con codice TOTP"),
            None if looks_like_recovery(code) => {
                let hash = self.recovery_hash(s.user_id, code);
                tx.spend_recovery_code(s.user_id, &hash, &at).await?.then_some("accesso con codice di recupero")
            }
            None => None,
        };
        let Some(reason) = accepted else {
            let n = tx.count_login_failure(&key, &at).await?;
            if n == 1 {
                let reason = "secondo fattore non riuscito (inizio di una serie; i successivi sono contati)";
                let id = Some(user.id.to_string());
                record_system(&mut tx, &user.username, Some(user.id), "login_failed", "user", id, reason).await?;
            }
            tx.commit().await?;
            return Err(Invalid::one("code", "err-mfa-code").into());
        };
        tx.clear_login_failures(&key).await?;
        let new_token = crate::auth::promote_session(&mut tx, token, &s.method).await?;
        record_system(&mut tx, &user.username, Some(user.id), "login", "user", Some(user.id.to_string()), reason)
            .await?;
        tx.commit().await?;
        Ok(new_token)
    }

    /// New recovery codes for the signed-in user (the old ones stop working).
    pub async fn renew_recovery_codes(&self, actor: &Actor) -> Result<Vec<String>> {
        policy::require_recent_authentication(actor)?;
        let (codes, hashes) = self.new_recovery_codes(actor.user_id);
        let mut tx = self.store().write().await?;
        if tx.totp_state(actor.user_id).await?.nonce.is_none() {
            return Err(ServiceError::Conflict("err-mfa-not-enabled"));
        }
        tx.replace_recovery_codes(actor.user_id, &hashes).await?;
        let id = Some(actor.user_id.to_string());
        let reason = "nuovi codici di recupero";
        record_system(&mut tx, &actor.username, Some(actor.user_id), "update", "user", id, reason).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Removes the user's own second factor, unless one of their roles requires it.
    pub async fn remove_own_second_factor(&self, actor: &Actor, session: &SessionInfo) -> Result<()> {
        policy::require_recent_authentication(actor)?;
        if self.second_factor_required(&session.memberships) {
            return Err(ServiceError::Conflict("err-mfa-required"));
        }
        let mut tx = self.store().write().await?;
        tx.remove_totp(actor.user_id).await?;
        let id = Some(actor.user_id.to_string());
        let reason = "secondo fattore disattivato dall'utente";
        record_system(&mut tx, &actor.username, Some(actor.user_id), "update", "user", id, reason).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An administrator removes another user's second factor (authenticator and recovery codes
    /// both lost): their sessions end, and they enrol again at the next sign-in when required.
    pub async fn reset_second_factor(&self, actor: &Actor, user_id: i64) -> Result<()> {
        policy::require(actor, policy::Permission::ManageUsers)?;
        policy::require_recent_authentication(actor)?;
        let mut tx = self.store().write().await?;
        tx.remove_totp(user_id).await?;
        let sessions = tx.end_sessions_of_user(user_id).await?;
        let detail = format!("{sessions} sessioni chiuse");
        crate::audit::record(
            &mut tx,
            actor,
            "update",
            "user",
            Some(user_id),
            "reimpostazione secondo fattore",
            Some(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Service {
    /// The operator removes a user's second factor from the command line (the only way back
    /// when the last administrator lost both authenticator and recovery codes). Audited as the
    /// system; the user's sessions end.
    pub async fn cli_reset_second_factor(&self, username: &str) -> Result<()> {
        let mut tx = self.store().write().await?;
        let user = tx.user_by_username(&username.trim().to_lowercase()).await?.ok_or(ServiceError::NotFound)?;
        tx.remove_totp(user.id).await?;
        tx.end_sessions_of_user(user.id).await?;
        let reason = "reimpostazione secondo fattore (CLI)";
        record_system(&mut tx, "cli", None, "update", "user", Some(user.id.to_string()), reason).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The step of the first code among the current one and its neighbours (clocks drift) that
/// matches and is later than `after`: a code already used, or an older one, is refused.
fn matching_step(totp: &TOTP, code: &str, after: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = chrono::Utc::now().timestamp().max(0) as u64 / STEP_SECONDS;
    [now.saturating_sub(1), now, now + 1].into_iter().find_map(|step| {
        let candidate = totp.generate(step * STEP_SECONDS);
        let same = candidate.len() == code.len()
            && candidate.bytes().zip(code.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        let step = i64::try_from(step).ok()?;
        (same && step > after).then_some(step)
    })
}

fn random_nonce() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    hex::encode(bytes)
}

/// Ten symbols (about 49 bits), shown as `xxxxx-xxxxx`.
fn new_recovery_code() -> String {
    let mut rng = rand::rng();
    let s: String = (0..10).map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())] as char).collect();
    format!("{}-{}", &s[..5], &s[5..])
}

fn normalise_recovery(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

fn looks_like_recovery(code: &str) -> bool {
    normalise_recovery(code).len() == 10
}

/// The base32 secret in groups of four, easier to type.
fn group_secret(secret: &str) -> String {
    secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1, 8 digits, secret "12345678901234567890".
        let totp = TOTP::new(Algorithm::SHA1, 8, 1, 30, b"12345678901234567890".to_vec()).unwrap();
        for (t, code) in
            [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"), (2000000000, "69279037")]
        {
            assert_eq!(totp.generate(t), code);
        }
    }

    #[test]
    fn a_code_is_accepted_once_and_only_near_now() {
        let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, vec![7u8; 20]).unwrap();
        let now = chrono::Utc::now().timestamp() as u64;
        let current = totp.generate(now);
        let step = matching_step(&totp, &current, 0).expect("the current code");
        assert!(matching_step(&totp, &current, step).is_none(), "replayed after use");
        assert!(matching_step(&totp, &totp.generate(now - 300), 0).is_none(), "five minutes old");
        assert!(matching_step(&totp, "12345", 0).is_none());
        assert!(matching_step(&totp, "abcdef", 0).is_none());
        let spaced = format!("{} {}", &current[..3], &current[3..]);
        assert!(matching_step(&totp, &spaced, 0).is_some(), "spaces typed from the app are ignored");
    }

    #[test]
    fn recovery_codes_are_ten_unambiguous_symbols() {
        let c = new_recovery_code();
        assert_eq!(c.len(), 11);
        assert!(looks_like_recovery(&c) && looks_like_recovery(&c.to_uppercase().replace('-', " ")));
        assert!(!c.contains(['0', 'o', '1', 'l', 'i']));
        assert!(!looks_like_recovery("123456"));
    }
}
