use crate::rows::{bool_col, found, now};
use crate::{Mode, Result, Tx, Write};
use percorsi_domain::organisation::NewOrganisation;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganisationRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub parent_name: Option<String>,
    pub territory: Option<String>,
    pub active: bool,
    /// A second factor for every role of the organisation.
    pub mfa_required: bool,
    /// Whether local passwords may be used (otherwise only single sign-on).
    pub password_login: bool,
}

const SELECT: &str = "SELECT o.id, o.name, o.kind, o.parent_id, p.name AS parent_name, o.territory, o.active, \
                      o.mfa_required, o.password_login FROM organisations o LEFT JOIN organisations p ON p.id = o.parent_id";

fn map(r: &AnyRow) -> Result<OrganisationRow> {
    Ok(OrganisationRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        parent_id: r.try_get("parent_id")?,
        parent_name: r.try_get("parent_name")?,
        territory: r.try_get("territory")?,
        active: bool_col(r, "active")?,
        mfa_required: bool_col(r, "mfa_required")?,
        password_login: bool_col(r, "password_login")?,
    })
}

impl<M: Mode> Tx<M> {
    pub async fn organisations(&mut self) -> Result<Vec<OrganisationRow>> {
        let rows = sqlx::query(&format!("{SELECT} ORDER BY o.kind, o.name")).fetch_all(self.conn()).await?;
        rows.iter().map(map).collect()
    }

    pub async fn organisation(&mut self, id: i64) -> Result<Option<OrganisationRow>> {
        let row = sqlx::query(&format!("{SELECT} WHERE o.id = $1")).bind(id).fetch_optional(self.conn()).await?;
        row.as_ref().map(map).transpose()
    }

    /// Whether `ancestor` is `id` or one of its parents (to refuse cycles in the hierarchy).
    pub async fn organisation_is_ancestor(&mut self, id: i64, ancestor: i64) -> Result<bool> {
        let mut current = Some(id);
        let mut steps = 0;
        while let Some(c) = current {
            if c == ancestor {
                return Ok(true);
            }
            steps += 1;
            if steps > 64 {
                return Ok(true);
            }
            current = sqlx::query_scalar::<_, Option<i64>>("SELECT parent_id FROM organisations WHERE id = $1")
                .bind(c)
                .fetch_optional(self.conn())
                .await?
                .flatten();
        }
        Ok(false)
    }
}

impl Tx<Write> {
    pub async fn insert_organisation(&mut self, o: &NewOrganisation) -> Result<i64> {
        let id = sqlx::query_scalar("INSERT INTO organisations (name, kind, parent_id, territory, active, created_at) VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id")
            .bind(&o.name)
            .bind(o.kind.code())
            .bind(o.parent_id)
            .bind(&o.territory)
            .bind(now())
            .fetch_one(self.conn())
            .await?;
        Ok(id)
    }

    pub async fn update_organisation(&mut self, id: i64, o: &NewOrganisation, active: bool) -> Result<()> {
        found(sqlx::query(
            "UPDATE organisations SET name = $1, kind = $2, parent_id = $3, territory = $4, active = $5 WHERE id = $6",
        )
        .bind(&o.name)
        .bind(o.kind.code())
        .bind(o.parent_id)
        .bind(&o.territory)
        .bind(active)
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected())?;
        Ok(())
    }
}

impl<M: Mode> Tx<M> {
    /// The fingerprint of the key this database was created with, if recorded.
    pub async fn installation_fingerprint(&mut self) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT key_fingerprint FROM installation WHERE id = 1")
            .fetch_optional(self.conn())
            .await?)
    }

    /// Whether anything that a key protects or that an operator created is stored.
    pub async fn holds_data(&mut self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM persons) + (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM organisations)",
        )
        .fetch_one(self.conn())
        .await?;
        Ok(n > 0)
    }
}

impl Tx<Write> {
    pub async fn set_installation_fingerprint(&mut self, fingerprint: &str) -> Result<()> {
        sqlx::query("INSERT INTO installation (id, key_fingerprint, created_at) VALUES (1, $1, $2)")
            .bind(fingerprint)
            .bind(crate::rows::now())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Tx<Write> {
    pub async fn set_sign_in_rules(&mut self, id: i64, mfa_required: bool, password_login: bool) -> Result<()> {
        found(
            sqlx::query("UPDATE organisations SET mfa_required = $1, password_login = $2 WHERE id = $3")
                .bind(mfa_required)
                .bind(password_login)
                .bind(id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )
    }
}
