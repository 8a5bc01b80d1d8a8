//! Second factors (TOTP and recovery codes) and OpenID Connect sign-ins under way.

use crate::rows::found;
use crate::{Mode, Result, Tx, Write};
use sqlx::Row;

/// A user's TOTP state: the nonces the secrets derive from, and the last step accepted.
#[derive(Debug, Clone, Default)]
pub struct TotpState {
    pub nonce: Option<String>,
    pub pending_nonce: Option<String>,
    pub last_step: i64,
}

/// An OpenID Connect sign-in (or re-authentication) waiting for the provider's answer.
#[derive(Debug, Clone)]
pub struct OidcPending {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next_path: String,
    pub session_hash: Option<String>,
    pub created_at: String,
}

impl<M: Mode> Tx<M> {
    pub async fn totp_state(&mut self, user_id: i64) -> Result<TotpState> {
        let r = sqlx::query("SELECT totp_nonce, totp_pending_nonce, totp_last_step FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.conn())
            .await?;
        let Some(r) = r else { return Err(crate::StoreError::NotFound) };
        Ok(TotpState {
            nonce: r.try_get("totp_nonce")?,
            pending_nonce: r.try_get("totp_pending_nonce")?,
            last_step: r.try_get("totp_last_step")?,
        })
    }

    pub async fn recovery_codes_left(&mut self, user_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .fetch_one(self.conn())
            .await?)
    }
}

impl Tx<Write> {
    /// Starts (or restarts) an enrolment with a new secret nonce.
    pub async fn set_totp_pending(&mut self, user_id: i64, nonce: &str) -> Result<()> {
        found(
            sqlx::query("UPDATE users SET totp_pending_nonce = $1 WHERE id = $2")
                .bind(nonce)
                .bind(user_id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }

    /// Makes the pending secret the user's second factor, if it is still the one confirmed
    /// (another tab may have restarted the enrolment); `step` is the code's, now used.
    pub async fn confirm_totp(&mut self, user_id: i64, pending_nonce: &str, step: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE users SET totp_nonce = totp_pending_nonce, totp_pending_nonce = NULL, totp_last_step = $1 \
             WHERE id = $2 AND totp_pending_nonce = $3",
        )
        .bind(step)
        .bind(user_id)
        .bind(pending_nonce)
        .execute(self.conn())
        .await?
        .rows_affected()
            > 0)
    }

    /// Spends a TOTP step: true only the first time a step later than any before is used, so
    /// a code is accepted once even when two requests race with it.
    pub async fn spend_totp_step(&mut self, user_id: i64, step: i64) -> Result<bool> {
        Ok(sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
            .bind(step)
            .bind(user_id)
            .execute(self.conn())
            .await?
            .rows_affected()
            > 0)
    }

    /// Removes the second factor and its recovery codes.
    pub async fn remove_totp(&mut self, user_id: i64) -> Result<()> {
        found(
            sqlx::query("UPDATE users SET totp_nonce = NULL, totp_pending_nonce = NULL WHERE id = $1")
                .bind(user_id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(self.conn()).await?;
        Ok(())
    }

    /// Replaces the user's recovery codes with new ones (given keyed-hashed).
    pub async fn replace_recovery_codes(&mut self, user_id: i64, hashes: &[String]) -> Result<()> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(self.conn()).await?;
        for h in hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(h)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Spends a recovery code: true only the first time.
    pub async fn spend_recovery_code(&mut self, user_id: i64, hash: &str, at: &str) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(at)
        .bind(user_id)
        .bind(hash)
        .execute(self.conn())
        .await?
        .rows_affected()
            > 0)
    }

    pub async fn insert_oidc_pending(&mut self, p: &OidcPending) -> Result<()> {
        sqlx::query(
            "INSERT INTO oidc_pending (state, nonce, pkce_verifier, next_path, session_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&p.state)
        .bind(&p.nonce)
        .bind(&p.pkce_verifier)
        .bind(&p.next_path)
        .bind(&p.session_hash)
        .bind(&p.created_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Takes the sign-in under way for `state` (once: a replayed answer finds nothing), if it
    /// started after `started_after`; older ones are dropped on the way.
    pub async fn take_oidc_pending(&mut self, state: &str, started_after: &str) -> Result<Option<OidcPending>> {
        sqlx::query("DELETE FROM oidc_pending WHERE created_at <= $1").bind(started_after).execute(self.conn()).await?;
        let r = sqlx::query(
            "DELETE FROM oidc_pending WHERE state = $1 \
             RETURNING state, nonce, pkce_verifier, next_path, session_hash, created_at",
        )
        .bind(state)
        .fetch_optional(self.conn())
        .await?;
        r.map(|r| {
            Ok(OidcPending {
                state: r.try_get("state")?,
                nonce: r.try_get("nonce")?,
                pkce_verifier: r.try_get("pkce_verifier")?,
                next_path: r.try_get("next_path")?,
                session_hash: r.try_get("session_hash")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }
}
