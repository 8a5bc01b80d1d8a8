//! Writing and verifying the audit trail.

use crate::{policy, Actor, Result, Service, ServiceError};
use percorsi_domain::audit::{verify, AuditEntry, BrokenLink, GENESIS};
use percorsi_domain::validation::Checker;
use percorsi_domain::Invalid;
use percorsi_store::{AuditFilter, AuditRow, Tx};
use serde::{Deserialize, Serialize};

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

pub(crate) fn entry(
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
        // An entry about a person is found by the auditor's person filter.
        person_id: if entity == "person" { entity_id } else { None },
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

    /// Audits a read of data about one person (a sub-resource: interventions, assessments,
    /// projects, placements…), with the person it concerns so the auditor can find it.
    pub(crate) async fn record_person_read(
        &self,
        actor: &Actor,
        person_id: i64,
        entity: &str,
        entity_id: Option<i64>,
        reason: &str,
    ) -> Result<()> {
        self.store().audit(entry(actor, "read", entity, entity_id, reason, None).about(person_id)).await?;
        Ok(())
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
        person_id: None,
    }
}

/// The one timestamp format of the database (RFC 3339, UTC, microseconds): compares as text.
pub(crate) fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn now() -> String {
    ts(chrono::Utc::now())
}

/// A timestamp `hours` ago.
pub(crate) fn hours_ago(hours: i64) -> String {
    ts(chrono::Utc::now() - chrono::Duration::hours(hours))
}

/// The head of the audit chain at one moment, kept where the database's administrator cannot
/// rewrite it (another volume, a mail, a write-once bucket, paper). The chain proves that no
/// entry was changed or removed in the middle; only an anchor kept elsewhere proves that the
/// last entries were not removed, or the whole chain rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Anchor {
    pub at: String,
    /// Entries in the trail, the last one included.
    pub entries: u64,
    pub last_id: i64,
    pub hash: String,
}

/// An anchor the trail no longer agrees with.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnchorFinding {
    pub anchor: Anchor,
    /// `truncated` (the anchored entry is gone), `rewritten` (it has another hash) or
    /// `entries-missing` (fewer entries up to it than were anchored).
    pub problem: &'static str,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub entries: u64,
    pub first_broken: Option<BrokenLink>,
}

impl Service {
    /// Records that an anchor is taken, then reads the chain's head (which is that entry).
    pub async fn audit_anchor(&self, by: &str) -> Result<Anchor> {
        let mut tx = self.store().write().await?;
        record_system(&mut tx, by, None, "anchor", "audit", None, "ancoraggio della catena di audit").await?;
        tx.commit().await?;
        let mut tx = self.store().read().await?;
        let head = tx.audit_head().await?;
        tx.commit().await?;
        let (last_id, hash, n) = head.ok_or_else(|| ServiceError::Broken("the audit trail is empty".into()))?;
        Ok(Anchor { at: now(), entries: n as u64, last_id, hash })
    }

    /// The chain's head now, without writing (for a scheduler that keeps anchors elsewhere).
    pub async fn audit_head(&self) -> Result<Option<Anchor>> {
        let mut tx = self.store().read().await?;
        let head = tx.audit_head().await?;
        tx.commit().await?;
        Ok(head.map(|(last_id, hash, n)| Anchor { at: now(), entries: n as u64, last_id, hash }))
    }

    /// Checks the trail against anchors kept elsewhere: each anchored entry must still be
    /// there, with the same hash and as many entries up to it.
    pub async fn check_anchors(&self, anchors: &[Anchor]) -> Result<Vec<AnchorFinding>> {
        let mut tx = self.store().read().await?;
        let mut findings = Vec::new();
        for a in anchors {
            let problem = match tx.audit_entry_hash(a.last_id).await? {
                None => Some("truncated"),
                Some((hash, _)) if hash != a.hash => Some("rewritten"),
                Some((_, n)) if (n as u64) < a.entries => Some("entries-missing"),
                Some(_) => None,
            };
            if let Some(problem) = problem {
                findings.push(AnchorFinding { anchor: a.clone(), problem });
            }
        }
        tx.commit().await?;
        Ok(findings)
    }

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

    /// The auditor's view of the trail, newest first, filtered by who, where, about whom and
    /// when; reading it is itself audited.
    pub async fn audit_trail(&self, actor: &Actor, q: &AuditQuery, before_id: Option<i64>) -> Result<Vec<AuditRow>> {
        policy::require(actor, policy::Permission::ViewAudit)?;
        let mut tx = self.store().read().await?;
        let filter = q.resolve(&mut tx).await?;
        let rows = tx.audit_search(&filter, before_id, 100).await?;
        tx.commit().await?;
        let detail = (filter != AuditFilter::default()).then(|| format!("{filter:?}"));
        self.record_detached(actor, "read", "audit_log", None, "verifica registro accessi", detail).await?;
        Ok(rows)
    }
}

/// The auditor's filters as typed in the form or the API: a username, an organisation id, a
/// person (id or pseudonymous code), a period in days.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(default)]
pub struct AuditQuery {
    pub user: String,
    pub organisation: String,
    pub person: String,
    /// First day included, `YYYY-MM-DD`.
    pub from: String,
    /// Last day included, `YYYY-MM-DD`.
    pub to: String,
    /// `entity:id`, e.g. `assessment:12`.
    pub entity: String,
}

impl AuditQuery {
    async fn resolve<M: percorsi_store::Mode>(&self, tx: &mut Tx<M>) -> Result<AuditFilter> {
        let mut c = Checker::new();
        let from = c.optional_date("from", Some(&self.from));
        let to = c.optional_date("to", Some(&self.to));
        c.date_order("to", from, to);
        let organisation_id = match self.organisation.trim() {
            "" => None,
            v => v.parse::<i64>().ok().or_else(|| {
                c.fail("organisation", "err-not-found");
                None
            }),
        };
        let entity = match self.entity.trim() {
            "" => None,
            v => match v.split_once(':') {
                Some((e, id)) if !e.is_empty() && !id.is_empty() => Some((e.to_string(), id.to_string())),
                _ => {
                    c.fail("entity", "err-unknown-code");
                    None
                }
            },
        };
        c.finish(|| ())?;
        let user_id = match self.user.trim() {
            "" => None,
            v => Some(
                match v.parse::<i64>() {
                    Ok(id) => Some(id),
                    Err(_) => tx.user_by_username(v).await?.map(|u| u.id),
                }
                .ok_or_else(|| Invalid::one("user", "err-unknown-user"))?,
            ),
        };
        let person_id = match self.person.trim() {
            "" => None,
            v => Some(
                match v.parse::<i64>() {
                    Ok(id) => Some(id),
                    Err(_) => tx.person_id_by_code(&v.to_uppercase()).await?,
                }
                .ok_or_else(|| Invalid::one("person", "err-not-found"))?,
            ),
        };
        let day = |d: chrono::NaiveDate| format!("{}T00:00:00", d.format("%Y-%m-%d"));
        Ok(AuditFilter {
            user_id,
            organisation_id,
            person_id,
            entity,
            from: from.map(day),
            to: to.and_then(|d| d.succ_opt()).map(day),
        })
    }
}
