use crate::rows::now;
use crate::{Mode, Result, Tx, Write};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: i64,
    pub membership_id: Option<i64>,
    pub csrf_token: String,
    pub expires_at: String,
    /// When the user signed in (kept across a role switch: the absolute lifetime counts from it).
    pub created_at: String,
    /// 'code', 'enrol' or 'full' (see [`SessionStage`]).
    pub stage: String,
    /// 'password' or 'oidc'.
    pub method: String,
    /// When the user last proved who they are (sign-in or re-authentication).
    pub authenticated_at: String,
}

/// What a new session records.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub user_id: i64,
    pub membership_id: Option<i64>,
    pub created_at: &'a str,
    pub expires_at: &'a str,
    pub stage: &'a str,
    pub method: &'a str,
    pub authenticated_at: &'a str,
}

/// A token as the operator lists it (never the secret, which is not stored).
#[derive(Debug, Clone, Serialize)]
pub struct ApiTokenListing {
    pub id: i64,
    pub name: String,
    pub user_id: i64,
    pub username: String,
    pub role: String,
    pub organisation_name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl<M: Mode> Tx<M> {
    /// A live session of an active user.
    /// A session neither idle past its expiry nor older than `signed_in_after` (the absolute
    /// lifetime), of an active user.
    pub async fn session(
        &mut self,
        token_hash: &str,
        now_ts: &str,
        signed_in_after: &str,
    ) -> Result<Option<SessionRow>> {
        let r = sqlx::query(
            "SELECT s.user_id, s.membership_id, s.csrf_token, s.expires_at, s.created_at, s.stage, s.method, \
             s.authenticated_at FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.created_at > $3 AND u.active = TRUE",
        )
        .bind(token_hash)
        .bind(now_ts)
        .bind(signed_in_after)
        .fetch_optional(self.conn())
        .await?;
        r.map(|r| {
            Ok(SessionRow {
                user_id: r.try_get("user_id")?,
                membership_id: r.try_get("membership_id")?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: r.try_get("expires_at")?,
                created_at: r.try_get("created_at")?,
                stage: r.try_get("stage")?,
                method: r.try_get("method")?,
                authenticated_at: r.try_get("authenticated_at")?,
            })
        })
        .transpose()
    }

    /// Every token of the installation, or those of one user's roles.
    pub async fn api_tokens(&mut self, user_id: Option<i64>) -> Result<Vec<ApiTokenListing>> {
        let rows = sqlx::query(
            "SELECT t.id, t.name, u.id AS user_id, u.username, m.role, o.name AS organisation_name, t.created_at, t.expires_at, t.revoked_at \
             FROM api_tokens t JOIN memberships m ON m.id = t.membership_id JOIN users u ON u.id = m.user_id \
             JOIN organisations o ON o.id = m.organisation_id WHERE ($1 = 0 OR u.id = $1) ORDER BY t.id",
        )
        .bind(user_id.unwrap_or(0))
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiTokenListing {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    user_id: r.try_get("user_id")?,
                    username: r.try_get("username")?,
                    role: r.try_get("role")?,
                    organisation_name: r.try_get("organisation_name")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect()
    }
}

impl Tx<Write> {
    pub async fn insert_session(&mut self, token_hash: &str, csrf: &str, s: &NewSession<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, membership_id, csrf_token, created_at, expires_at, stage, method, authenticated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(token_hash)
        .bind(s.user_id)
        .bind(s.membership_id)
        .bind(csrf)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.stage)
        .bind(s.method)
        .bind(s.authenticated_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Records that the session's user has just proved who they are again.
    pub async fn set_session_authenticated(&mut self, token_hash: &str, at: &str) -> Result<()> {
        crate::rows::found(
            sqlx::query("UPDATE sessions SET authenticated_at = $1 WHERE token_hash = $2")
                .bind(at)
                .bind(token_hash)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }

    pub async fn touch_session(&mut self, token_hash: &str, expires_at: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE token_hash = $2")
            .bind(expires_at)
            .bind(token_hash)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(self.conn()).await?;
        Ok(())
    }

    pub async fn delete_expired_sessions(&mut self, now_ts: &str) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ts)
            .execute(self.conn())
            .await?
            .rows_affected())
    }

    pub async fn insert_api_token(
        &mut self,
        token_hash: &str,
        name: &str,
        membership_id: i64,
        expires_at: Option<&str>,
    ) -> Result<i64> {
        let id = sqlx::query_scalar("INSERT INTO api_tokens (token_hash, name, membership_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(token_hash)
            .bind(name)
            .bind(membership_id)
            .bind(now())
            .bind(expires_at)
            .fetch_one(self.conn())
            .await?;
        Ok(id)
    }

    /// Ends every session and revokes every API token of a user (a password reset: whoever
    /// knew the old password is out at once). Returns how many sessions and tokens ended.
    pub async fn end_access_of_user(&mut self, user_id: i64) -> Result<(u64, u64)> {
        let sessions =
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(self.conn()).await?;
        let tokens = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE revoked_at IS NULL \
             AND membership_id IN (SELECT id FROM memberships WHERE user_id = $2)",
        )
        .bind(now())
        .bind(user_id)
        .execute(self.conn())
        .await?;
        Ok((sessions.rows_affected(), tokens.rows_affected()))
    }

    /// Ends every session of a user (their second factor was reset), leaving API tokens alone.
    pub async fn end_sessions_of_user(&mut self, user_id: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(self.conn())
            .await?
            .rows_affected())
    }

    /// Ends every session acting as the membership and revokes its tokens (a revoked role).
    pub async fn end_access_of_membership(&mut self, membership_id: i64) -> Result<(u64, u64)> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE membership_id = $1")
            .bind(membership_id)
            .execute(self.conn())
            .await?;
        let tokens =
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND membership_id = $2")
                .bind(now())
                .bind(membership_id)
                .execute(self.conn())
                .await?;
        Ok((sessions.rows_affected(), tokens.rows_affected()))
    }

    pub async fn revoke_api_token(&mut self, id: i64) -> Result<bool> {
        Ok(sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(self.conn())
            .await?
            .rows_affected()
            > 0)
    }
}

impl<M: Mode> Tx<M> {
    /// Failed sign-ins so far for each key that has any: (key, failures, last failure).
    pub async fn login_failures(&mut self, keys: &[String]) -> Result<Vec<(String, i64, String)>> {
        let mut out = Vec::new();
        for key in keys {
            let r = sqlx::query("SELECT key, failures, last_failure_at FROM login_throttle WHERE key = $1")
                .bind(key)
                .fetch_optional(self.conn())
                .await?;
            if let Some(r) = r {
                out.push((r.try_get("key")?, r.try_get("failures")?, r.try_get("last_failure_at")?));
            }
        }
        Ok(out)
    }
}

impl Tx<Write> {
    /// Counts one more failure for `key` at `at`; returns the count.
    pub async fn count_login_failure(&mut self, key: &str, at: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, last_failure_at = excluded.last_failure_at \
             RETURNING failures",
        )
        .bind(key)
        .bind(at)
        .fetch_one(self.conn())
        .await?)
    }

    pub async fn clear_login_failures(&mut self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(key).execute(self.conn()).await?;
        Ok(())
    }
}

/// One of a user's own live sessions, as their account page lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OwnSession {
    /// The SHA-256 of the session's cookie: names the session without revealing it.
    pub id: String,
    pub created_at: String,
    pub expires_at: String,
    pub organisation_name: Option<String>,
    pub role: Option<String>,
}

impl<M: Mode> Tx<M> {
    /// The user's sessions still live at `now_ts`, newest first.
    pub async fn sessions_of_user(&mut self, user_id: i64, now_ts: &str) -> Result<Vec<OwnSession>> {
        let rows = sqlx::query(
            "SELECT s.token_hash, s.created_at, s.expires_at, o.name AS organisation_name, m.role FROM sessions s \
             LEFT JOIN memberships m ON m.id = s.membership_id LEFT JOIN organisations o ON o.id = m.organisation_id \
             WHERE s.user_id = $1 AND s.expires_at > $2 ORDER BY s.created_at DESC",
        )
        .bind(user_id)
        .bind(now_ts)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OwnSession {
                    id: r.try_get("token_hash")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    organisation_name: r.try_get("organisation_name")?,
                    role: r.try_get("role")?,
                })
            })
            .collect()
    }
}

impl Tx<Write> {
    /// Ends one of the user's sessions; false when it is not theirs (or already ended).
    pub async fn end_session_of_user(&mut self, user_id: i64, token_hash: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash = $2")
            .bind(user_id)
            .bind(token_hash)
            .execute(self.conn())
            .await?
            .rows_affected()
            > 0)
    }

    /// Ends every session of the user but `keep`.
    pub async fn end_other_sessions(&mut self, user_id: i64, keep: &str) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep)
            .execute(self.conn())
            .await?
            .rows_affected())
    }

    /// Revokes one of the user's own tokens; false when it is not theirs or already revoked.
    pub async fn revoke_token_of_user(&mut self, user_id: i64, id: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
             AND membership_id IN (SELECT id FROM memberships WHERE user_id = $3)",
        )
        .bind(now())
        .bind(id)
        .bind(user_id)
        .execute(self.conn())
        .await?
        .rows_affected()
            > 0)
    }
}
