use crate::{Backend, Mode, Result, Tx, Value, Write};
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

const AUDIT_COLUMNS: &str =
    "at, user_id, username, organisation_id, role, action, entity, entity_id, reason, detail, prev_hash, hash, person_id";

impl Tx<Write> {
    /// The hash the next entry links to, with the chain held for this transaction.
    async fn chain_end(&mut self) -> Result<String> {
        if self.backend == Backend::Postgres {
            // Serialises appends across app instances so the chain never forks; released at commit.
            sqlx::query("SELECT pg_advisory_xact_lock(724031)").execute(self.conn()).await?;
        }
        let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(self.conn())
            .await?;
        Ok(prev.unwrap_or_else(|| GENESIS.to_string()))
    }

    /// Appends an entry to the hash chain inside the current transaction.
    pub async fn append_audit(&mut self, entry: &AuditEntry) -> Result<i64> {
        let prev = self.chain_end().await?;
        let hash = entry.link_hash(&prev);
        self.insert_link(entry, &prev, &hash).await
    }

    async fn insert_link(&mut self, entry: &AuditEntry, prev: &str, hash: &str) -> Result<i64> {
        let id = sqlx::query_scalar(&format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id"
        ))
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
        .bind(prev)
        .bind(hash)
        .bind(entry.person_id)
        .fetch_one(self.conn())
        .await?;
        Ok(id)
    }

    /// Appends many entries, in order, inside the current transaction. The chain is read and
    /// locked once and the links computed here: on PostgreSQL the entries of a group commit
    /// are one statement instead of three round trips each under the chain's lock — the lock
    /// every append on every app server takes, where requests queued under load. (SQLite runs
    /// in the process: one prepared insert per entry is as cheap and keeps the statement cache
    /// free of a statement per batch size.)
    pub async fn append_audit_batch<'e>(&mut self, entries: impl IntoIterator<Item = &'e AuditEntry>) -> Result<()> {
        let mut prev = self.chain_end().await?;
        let mut links = Vec::new();
        for e in entries {
            let hash = e.link_hash(&prev);
            links.push((e, std::mem::replace(&mut prev, hash.clone()), hash));
        }
        if self.backend == Backend::Sqlite {
            for (e, prev, hash) in &links {
                self.insert_link(e, prev, hash).await?;
            }
            return Ok(());
        }
        let text = |t: &Option<String>| Value::Text(t.clone());
        let rows: Vec<Vec<Value>> = links
            .into_iter()
            .map(|(e, prev, hash)| {
                vec![
                    Value::Text(Some(e.at.clone())),
                    Value::Int(e.user_id),
                    Value::Text(Some(e.username.clone())),
                    Value::Int(e.organisation_id),
                    text(&e.role),
                    Value::Text(Some(e.action.clone())),
                    Value::Text(Some(e.entity.clone())),
                    text(&e.entity_id),
                    text(&e.reason),
                    text(&e.detail),
                    Value::Text(Some(prev)),
                    Value::Text(Some(hash)),
                    Value::Int(e.person_id),
                ]
            })
            .collect();
        // One INSERT … SELECT FROM unnest(…): rows are inserted, and take their ids, in the
        // order of the arrays, which is the order of the chain.
        self.insert_many("audit_log", AUDIT_COLUMNS, &rows).await
    }
}
