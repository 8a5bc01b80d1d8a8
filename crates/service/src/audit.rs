//! Writing and verifying the audit trail.

use crate::{policy, Actor, Result, Service};
use percorsi_domain::audit::{verify, AuditEntry, BrokenLink, GENESIS};
use percorsi_store::{AuditRow, Tx};
use serde::Serialize;

/// Appends who/organisation/role/when/what/why for `actor` inside the operation's transaction.
pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    reason: &str,
    detail: Option<String>,
) -> Result<()> {
    tx.append_audit(&entry(actor, action, entity, entity_id, reason, detail)).await?;
    Ok(())
}

fn entry(
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    reason: &str,
    detail: Option<String>,
) -> AuditEntry {
    AuditEntry {
        at: now(),
        user_id: Some(actor.user_id),
        username: actor.username.clone(),
        organisation_id: Some(actor.organisation_id),
        role: Some(actor.role.code().to_string()),
        action: action.into(),
        entity: entity.into(),
        entity_id: entity_id.map(|i| i.to_string()),
        reason: Some(reason.into()),
        detail,
    }
}

impl Service {
    /// Audits a read that ran in a read transaction. The entry is group-committed with those of
    /// other requests; the caller answers only once it is stored, so no read goes unrecorded.
    pub(crate) async fn record_read(
        &self,
        actor: &Actor,
        entity: &str,
        entity_id: Option<i64>,
        reason: &str,
        detail: Option<String>,
    ) -> Result<()> {
        self.record_detached(actor, "read", entity, entity_id, reason, detail).await
    }

    /// Audits an action that wrote nothing else (an export, a download) without taking the
    /// writer: the entry is group-committed and stored before this returns.
    pub(crate) async fn record_detached(
        &self,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: Option<i64>,
        reason: &str,
        detail: Option<String>,
    ) -> Result<()> {
        self.store().audit(entry(actor, action, entity, entity_id, reason, detail)).await?;
        Ok(())
    }
}

/// For events without an acting role: logins, CLI administration.
pub async fn record_system(
    tx: &mut Tx,
    username: &str,
    user_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<String>,
    reason: &str,
) -> Result<()> {
    tx.append_audit(&system_entry(username, user_id, action, entity, entity_id, reason)).await?;
    Ok(())
}

pub(crate) fn system_entry(
    username: &str,
    user_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<String>,
    reason: &str,
) -> AuditEntry {
    AuditEntry {
        at: now(),
        user_id,
        username: username.into(),
        organisation_id: None,
        role: None,
        action: action.into(),
        entity: entity.into(),
        entity_id,
        reason: Some(reason.into()),
        detail: None,
    }
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub entries: u64,
    pub first_broken: Option<BrokenLink>,
}

impl Service {
    /// Walks the whole chain in id order, in pages, and reports the first broken link.
    pub async fn verify_audit(&self) -> Result<VerifyReport> {
        let mut tx = self.store().read().await?;
        let mut after = 0;
        let mut prev = GENESIS.to_string();
        let mut entries = 0u64;
        loop {
            let page = tx.audit_after(after, 5000).await?;
            if page.is_empty() {
                break;
            }
            // Hashing thousands of entries is CPU work: off the async workers.
            let (page, broken) = crate::off_thread(move || {
                let broken =
                    verify(page.iter().map(|r| (r.id, &r.entry, r.prev_hash.as_str(), r.hash.as_str())), &prev);
                (page, broken)
            })
            .await?;
            let Some(last) = page.last() else { break };
            if let Some(b) = broken {
                return Ok(VerifyReport {
                    entries: entries + page.iter().take_while(|r| r.id < b.id).count() as u64,
                    first_broken: Some(b),
                });
            }
            entries += page.len() as u64;
            after = last.id;
            prev = last.hash.clone();
        }
        Ok(VerifyReport { entries, first_broken: None })
    }

    /// The auditor's view of the trail, newest first; reading it is itself audited.
    pub async fn audit_trail(
        &self,
        actor: &Actor,
        entity: Option<(&str, &str)>,
        before_id: Option<i64>,
    ) -> Result<Vec<AuditRow>> {
        policy::require(actor, policy::Permission::ViewAudit)?;
        let mut tx = self.store().read().await?;
        let rows = tx.audit_recent(entity, before_id, 100).await?;
        tx.commit().await?;
        self.record_read(actor, "audit_log", None, "verifica registro accessi", None).await?;
        Ok(rows)
    }
}
