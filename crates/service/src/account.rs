//! The user's own account: their password, their sessions and their API tokens (ASVS V2.1.6,
//! V3.3.4). Every use case acts for the signed-in session it is given (as resolved from the
//! cookie for this request), so a user only ever acts on what is theirs.

use crate::audit::{now, record_system};
use crate::auth::{digest, hash_password_off_thread, verify_password_off_thread, SessionInfo};
use crate::{Result, Service, ServiceError};
use percorsi_domain::user::check_password;
use percorsi_domain::validation::Checker;
use percorsi_domain::{FieldError, Invalid};
use percorsi_store::{ApiTokenListing, OwnSession};
use serde::{Deserialize, Serialize};

/// What the account page shows.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub sessions: Vec<OwnSession>,
    /// The id of the session asking (listed, but ended by signing out).
    pub current: String,
    pub tokens: Vec<ApiTokenListing>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PasswordChange {
    pub current: String,
    pub password: String,
}

impl Service {
    pub async fn account(&self, session: &SessionInfo, token: &str) -> Result<AccountView> {
        let user_id = session.user_id;
        let mut tx = self.store().read().await?;
        let sessions = tx.sessions_of_user(user_id, &now()).await?;
        let tokens = tx.api_tokens(Some(user_id)).await?;
        tx.commit().await?;
        Ok(AccountView { sessions, current: digest(token), tokens })
    }

    /// Changes the user's own password: the current one is required, the new one follows the
    /// policy, and every other session of the account ends (this one goes on).
    pub async fn change_own_password(&self, session: &SessionInfo, token: &str, form: &PasswordChange) -> Result<u64> {
        let (user_id, username) = (session.user_id, session.username.as_str());
        let mut c = Checker::new();
        if form.current.is_empty() {
            c.fail("current", "err-required");
        }
        check_password(&mut c, &form.password, &[username, &session.display_name]);
        if !form.current.is_empty() && form.current == form.password {
            c.push(FieldError::new("password", "err-password-same"));
        }
        c.finish(|| ())?;
        let mut tx = self.store().read().await?;
        let user = tx.user(user_id).await?.ok_or(ServiceError::Unauthenticated)?;
        tx.commit().await?;
        if !verify_password_off_thread(&form.current, &user.password_hash).await? {
            return Err(Invalid::one("current", "err-password-current").into());
        }
        let hash = hash_password_off_thread(&form.password).await?;
        let mut tx = self.store().write().await?;
        tx.set_password(user_id, &hash).await?;
        let ended = tx.end_other_sessions(user_id, &digest(token)).await?;
        let reason = "cambio della propria password (altre sessioni chiuse)";
        record_system(&mut tx, username, Some(user_id), "update", "user", Some(user_id.to_string()), reason).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Ends one of the user's own sessions (e.g. one left open on another computer).
    pub async fn end_own_session(&self, session: &SessionInfo, id: &str) -> Result<()> {
        let (user_id, username) = (session.user_id, session.username.as_str());
        let mut tx = self.store().write().await?;
        if !tx.end_session_of_user(user_id, id).await? {
            return Err(ServiceError::NotFound);
        }
        record_system(&mut tx, username, Some(user_id), "update", "session", None, "sessione chiusa dall'utente")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn revoke_own_token(&self, session: &SessionInfo, id: i64) -> Result<()> {
        let (user_id, username) = (session.user_id, session.username.as_str());
        let mut tx = self.store().write().await?;
        if !tx.revoke_token_of_user(user_id, id).await? {
            return Err(ServiceError::NotFound);
        }
        let id = Some(id.to_string());
        record_system(&mut tx, username, Some(user_id), "update", "api_token", id, "token revocato dall'utente")
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
