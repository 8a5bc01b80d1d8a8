use crate::{Backend, Mode, Result, Tx, Write};
use percorsi_domain::audit::{AuditEntry, GENESIS};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

fn map(r: &AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        id: r.try_get("id")?,
        entry: AuditEntry {
            at: r.try_get("at")?,
            user_id: r.try_get("user_id")?,
            username: r.try_get("username")?,
            organisation_id: r.try_get("organisation_id")?,
            role: r.try_get("role")?,
            action: r.try_get("action")?,
            entity: r.try_get("entity")?,
            entity_id: r.try_get("entity_id")?,
            reason: r.try_get("reason")?,
            detail: r.try_get("detail")?,
            person_id: r.try_get("person_id")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

const SELECT: &str = "SELECT id, at, user_id, username, organisation_id, role, action, entity, entity_id, reason, detail, person_id, prev_hash, hash FROM audit_log";

impl<M: Mode> Tx<M> {
    /// Entries with id greater than `after_id`, oldest first, at most `limit`.
    pub async fn audit_after(&mut self, after_id: i64, limit: i64) -> Result<Vec<AuditRow>> {
        let rows = sqlx::query(&format!("{SELECT} WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(after_id)
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(map).collect()
    }

    /// The last entry's id and hash, and how many entries there are (one snapshot).
    pub async fn audit_head(&mut self) -> Result<Option<(i64, String, i64)>> {
        let row = sqlx::query(
            "SELECT id, hash, (SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log) AS n FROM audit_log ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| Ok((r.try_get("id")?, r.try_get("hash")?, r.try_get("n")?))).transpose()
    }

    /// The hash of one entry, and how many entries there are up to it.
    pub async fn audit_entry_hash(&mut self, id: i64) -> Result<Option<(String, i64)>> {
        let row = sqlx::query(
            "SELECT hash, (SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE id <= $1) AS n FROM audit_log WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| Ok((r.try_get("hash")?, r.try_get("n")?))).transpose()
    }

    /// How many entries of one kind a user caused since `since` (per-user limits).
    pub async fn audit_count(&mut self, user_id: i64, action: &str, entity: &str, since: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE user_id = $1 AND at >= $2 AND action = $3 AND entity = $4",
        )
        .bind(user_id)
        .bind(since)
        .bind(action)
        .bind(entity)
        .fetch_one(self.conn())
        .await?)
    }

    /// Newest entries first that pass `filter`, older than `before_id` when given.
    pub async fn audit_search(
        &mut self,
        filter: &AuditFilter,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        let (entity, entity_id) = filter.entity.clone().unwrap_or_default();
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE ($1 = 0 OR user_id = $1) AND ($2 = 0 OR organisation_id = $2) AND ($3 = 0 OR person_id = $3) \
             AND ($4 = '' OR (entity = $4 AND entity_id = $5)) AND ($6 = '' OR at >= $6) AND ($7 = '' OR at < $7) \
             AND ($8 = 0 OR id < $8) ORDER BY id DESC LIMIT $9"
        ))
        .bind(filter.user_id.unwrap_or(0))
        .bind(filter.organisation_id.unwrap_or(0))
        .bind(filter.person_id.unwrap_or(0))
        .bind(entity)
        .bind(entity_id)
        .bind(filter.from.clone().unwrap_or_default())
        .bind(filter.to.clone().unwrap_or_default())
        .bind(before_id.unwrap_or(0))
        .bind(limit)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(map).collect()
    }
}

/// What the auditor asks of the trail: any combination of who, where, about whom and when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub user_id: Option<i64>,
    pub organisation_id: Option<i64>,
    pub person_id: Option<i64>,
    /// (entity, id), e.g. ("assessment", "12").
    pub entity: Option<(String, String)>,
    /// First instant included and first instant excluded, RFC 3339 (`at` compares as text).
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Tx<Write> {
    /// Appends an entry to the hash chain inside the current transaction.
    pub async fn append_audit(&mut self, entry: &AuditEntry) -> Result<i64> {
        if self.backend == Backend::Postgres {
            // Serialises appends across app instances so the chain never forks; released at commit.
            sqlx::query("SELECT pg_advisory_xact_lock(724031)").execute(self.conn()).await?;
        }
        let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(self.conn())
            .await?;
        let prev = prev.unwrap_or_else(|| GENESIS.to_string());
        let hash = entry.link_hash(&prev);
        let id = sqlx::query_scalar(
            "INSERT INTO audit_log (at, user_id, username, organisation_id, role, action, entity, entity_id, reason, detail, prev_hash, hash, person_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(&entry.at)
        .bind(entry.user_id)
        .bind(&entry.username)
        .bind(entry.organisation_id)
        .bind(&entry.role)
        .bind(&entry.action)
        .bind(&entry.entity)
        .bind(&entry.entity_id)
        .bind(&entry.reason)
        .bind(&entry.detail)
        .bind(&prev)
        .bind(&hash)
        .bind(entry.person_id)
        .fetch_one(self.conn())
        .await?;
        Ok(id)
    }
}
