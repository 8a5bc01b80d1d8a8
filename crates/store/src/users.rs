use crate::rows::{bool_col, found, now};
use crate::{Mode, Result, StoreError, Tx, Write};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub active: bool,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    /// Whether a second factor (TOTP) is enrolled.
    pub totp_enabled: bool,
    /// The identity provider's claim value that signs in as this account, if any.
    pub sso_subject: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MembershipRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub organisation_kind: String,
    pub role: String,
    pub active: bool,
    /// Whether the organisation is active: a role at a deactivated organisation acts nowhere.
    pub organisation_active: bool,
    /// Whether the organisation asks a second factor of every role.
    pub organisation_mfa_required: bool,
    /// Whether the organisation lets its people sign in with a local password.
    pub organisation_password_login: bool,
}

impl MembershipRow {
    /// A role that can be acted in now: itself active, at an active organisation.
    pub fn usable(&self) -> bool {
        self.active && self.organisation_active
    }
}

fn map_user(r: &AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        active: bool_col(r, "active")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
        password_hash: r.try_get("password_hash")?,
        totp_enabled: r.try_get::<Option<String>, _>("totp_nonce")?.is_some(),
        sso_subject: r.try_get("sso_subject")?,
    })
}

fn map_membership(r: &AnyRow) -> Result<MembershipRow> {
    Ok(MembershipRow {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        organisation_id: r.try_get("organisation_id")?,
        organisation_name: r.try_get("organisation_name")?,
        organisation_kind: r.try_get("organisation_kind")?,
        role: r.try_get("role")?,
        active: bool_col(r, "active")?,
        organisation_active: bool_col(r, "organisation_active")?,
        organisation_mfa_required: bool_col(r, "organisation_mfa_required")?,
        organisation_password_login: bool_col(r, "organisation_password_login")?,
    })
}

const USER: &str = "SELECT id, username, display_name, active, failed_logins, locked_until, password_hash, totp_nonce, sso_subject FROM users";
const MEMBERSHIP: &str =
    "SELECT m.id, m.user_id, u.username, u.display_name, m.organisation_id, o.name AS organisation_name, \
                          o.kind AS organisation_kind, m.role, m.active, o.active AS organisation_active, \
                          o.mfa_required AS organisation_mfa_required, o.password_login AS organisation_password_login FROM memberships m \
                          JOIN users u ON u.id = m.user_id JOIN organisations o ON o.id = m.organisation_id";

impl<M: Mode> Tx<M> {
    pub async fn user_by_username(&mut self, username: &str) -> Result<Option<UserRow>> {
        let r = sqlx::query(&format!("{USER} WHERE username = $1")).bind(username).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_user).transpose()
    }

    pub async fn user_by_sso_subject(&mut self, subject: &str) -> Result<Option<UserRow>> {
        let r =
            sqlx::query(&format!("{USER} WHERE sso_subject = $1")).bind(subject).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_user).transpose()
    }

    pub async fn user(&mut self, id: i64) -> Result<Option<UserRow>> {
        let r = sqlx::query(&format!("{USER} WHERE id = $1")).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_user).transpose()
    }

    pub async fn users(&mut self) -> Result<Vec<UserRow>> {
        let rows = sqlx::query(&format!("{USER} ORDER BY username")).fetch_all(self.conn()).await?;
        rows.iter().map(map_user).collect()
    }

    pub async fn memberships_of_user(&mut self, user_id: i64) -> Result<Vec<MembershipRow>> {
        let rows = sqlx::query(&format!("{MEMBERSHIP} WHERE m.user_id = $1 ORDER BY o.name, m.role"))
            .bind(user_id)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(map_membership).collect()
    }

    /// The membership an API token acts as, in one query (a request's authentication is on
    /// every API call): only a token neither revoked nor expired, of an active membership, user
    /// and organisation.
    pub async fn api_token_membership(&mut self, token_hash: &str, now_ts: &str) -> Result<Option<MembershipRow>> {
        let sql = format!(
            "{MEMBERSHIP} JOIN api_tokens t ON t.membership_id = m.id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) \
             AND m.active = TRUE AND u.active = TRUE AND o.active = TRUE"
        );
        let r = sqlx::query(&sql).bind(token_hash).bind(now_ts).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_membership).transpose()
    }

    pub async fn membership(&mut self, id: i64) -> Result<Option<MembershipRow>> {
        let r = sqlx::query(&format!("{MEMBERSHIP} WHERE m.id = $1")).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(map_membership).transpose()
    }

    /// Active holders of any of `roles` (in any organisation when `organisation_id` is `None`).
    pub async fn members_with_roles(
        &mut self,
        organisation_id: Option<i64>,
        roles: &[&str],
    ) -> Result<Vec<MembershipRow>> {
        let placeholders: Vec<String> = (0..roles.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "{MEMBERSHIP} WHERE m.active = TRUE AND u.active = TRUE AND ($1 = 0 OR m.organisation_id = $1) AND m.role IN ({}) ORDER BY o.name, u.display_name",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(organisation_id.unwrap_or(0));
        for r in roles {
            q = q.bind(*r);
        }
        let rows = q.fetch_all(self.conn()).await?;
        rows.iter().map(map_membership).collect()
    }
}

impl Tx<Write> {
    pub async fn insert_user(&mut self, username: &str, display_name: &str, password_hash: &str) -> Result<i64> {
        let id = sqlx::query_scalar("INSERT INTO users (username, display_name, password_hash, active, failed_logins, created_at) VALUES ($1, $2, $3, TRUE, 0, $4) RETURNING id")
            .bind(username)
            .bind(display_name)
            .bind(password_hash)
            .bind(now())
            .fetch_one(self.conn())
            .await?;
        Ok(id)
    }

    pub async fn insert_membership(&mut self, user_id: i64, organisation_id: i64, role: &str) -> Result<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO memberships (user_id, organisation_id, role, active) VALUES ($1, $2, $3, TRUE) RETURNING id",
        )
        .bind(user_id)
        .bind(organisation_id)
        .bind(role)
        .fetch_one(self.conn())
        .await?;
        Ok(id)
    }

    pub async fn set_membership_active(&mut self, id: i64, active: bool) -> Result<()> {
        found(
            sqlx::query("UPDATE memberships SET active = $1 WHERE id = $2")
                .bind(active)
                .bind(id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )?;
        Ok(())
    }

    pub async fn set_password(&mut self, user_id: i64, hash: &str) -> Result<()> {
        let n =
            sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2")
                .bind(hash)
                .bind(user_id)
                .execute(self.conn())
                .await?
                .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Links the account to an identity provider's claim value (or unlinks it with `None`).
    pub async fn set_sso_subject(&mut self, user_id: i64, subject: Option<&str>) -> Result<()> {
        found(
            sqlx::query("UPDATE users SET sso_subject = $1 WHERE id = $2")
                .bind(subject)
                .bind(user_id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }

    pub async fn set_user_active(&mut self, user_id: i64, active: bool) -> Result<()> {
        found(
            sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
                .bind(active)
                .bind(user_id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )?;
        if !active {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(self.conn()).await?;
        }
        Ok(())
    }
}
