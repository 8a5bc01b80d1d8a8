//! Break-the-glass: a case manager or operatore facing an emergency opens the record of a
//! person their organisation does not see, with a stated reason, for a limited time. The
//! opening is on the audit trail, shown in the header while in force, told to the
//! organisations that have the person in charge and to the auditors, who review each one.

use crate::audit::{hours_ago, now, record, ts};
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use chrono::{Duration, Utc};
use percorsi_domain::codes::Role;
use percorsi_domain::validation::Checker;
use percorsi_domain::Invalid;
use percorsi_store::GlassRow;
use serde::{Deserialize, Serialize};

/// How long an emergency access lasts unless the installation says otherwise.
pub const DEFAULT_GLASS_HOURS: i64 = 3;
/// Emergency openings a user may make per day (each one is also a probe of the registry).
pub const GLASS_PER_DAY: i64 = 5;

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct GlassForm {
    /// The person's pseudonymous code.
    pub code: String,
    /// Why the record must be opened now (at least 20 characters).
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct GlassReviewForm {
    /// `si` (justified) or `no`.
    pub justified: String,
    pub note: String,
}

/// What an emergency opening gives: the person and until when.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GlassOpened {
    pub id: i64,
    pub person_id: i64,
    pub expires_at: String,
}

impl Service {
    pub async fn break_glass(&self, actor: &Actor, form: &GlassForm) -> Result<GlassOpened> {
        policy::require(actor, Permission::BreakGlass)?;
        policy::require_recent_authentication(actor)?;
        let mut c = Checker::new();
        let code = form.code.trim().to_uppercase();
        if code.is_empty() {
            c.fail("code", "err-required");
        }
        let reason = form.reason.trim();
        if reason.chars().count() < 20 {
            c.fail("reason", "err-glass-reason");
        }
        c.finish(|| ())?;
        let started = Utc::now();
        let expires = started + Duration::hours(self.glass_hours());
        let mut tx = self.store().write().await?;
        if tx.audit_count(actor.user_id, "glass", "person", &hours_ago(24)).await? >= GLASS_PER_DAY {
            return Err(ServiceError::TooMany("err-glass-limit"));
        }
        let Some(person_id) = tx.person_id_by_code(&code).await? else {
            // Recorded too: looking for a code is a probe whether or not it exists.
            record(&mut tx, actor, "glass", "person", None, "accesso di emergenza: codice inesistente", None).await?;
            tx.commit().await?;
            return Err(Invalid::one("code", "err-not-found").into());
        };
        if tx.person_visible(&actor.scope(), person_id).await?.is_some() {
            return Err(ServiceError::Conflict("err-glass-not-needed"));
        }
        let id = tx
            .insert_glass(person_id, actor.user_id, actor.organisation_id, reason, &ts(started), &ts(expires))
            .await?;
        record(
            &mut tx,
            actor,
            "glass",
            "person",
            Some(person_id),
            "accesso di emergenza (break-the-glass)",
            Some(format!("fino a {}; motivo: {reason}", ts(expires))),
        )
        .await?;
        let args = serde_json::json!({ "code": code, "organisation": actor.organisation_name }).to_string();
        for org in tx.organisations_in_charge(person_id, &crate::today().to_string()).await? {
            tx.notify(org, "notif-glass", &args, &format!("/persone/{person_id}")).await?;
        }
        // The auditors' organisations learn that there is an access to review, not whom it
        // concerns (the review list says, to the auditor only).
        let review = serde_json::json!({ "organisation": actor.organisation_name }).to_string();
        for org in tx.members_with_roles(None, &[Role::Auditor.code()]).await?.iter().map(|m| m.organisation_id) {
            tx.notify(org, "notif-glass-review", &review, "/audit/emergenze").await?;
        }
        tx.commit().await?;
        Ok(GlassOpened { id, person_id, expires_at: ts(expires) })
    }

    /// Every emergency opening for the auditor, those still to review first.
    pub async fn glass_reviews(&self, actor: &Actor) -> Result<Vec<GlassRow>> {
        policy::require(actor, Permission::ViewAudit)?;
        let mut tx = self.store().read().await?;
        let list = tx.glass_for_review(200).await?;
        tx.commit().await?;
        self.record_read(actor, "glass_access", None, "revisione accessi di emergenza", None).await?;
        Ok(list)
    }

    pub async fn review_glass(&self, actor: &Actor, id: i64, form: &GlassReviewForm) -> Result<()> {
        policy::require(actor, Permission::ViewAudit)?;
        let justified = match form.justified.trim() {
            "si" => true,
            "no" => false,
            "" => return Err(Invalid::one("justified", "err-required").into()),
            _ => return Err(Invalid::one("justified", "err-unknown-choice").into()),
        };
        let note = form.note.trim();
        if !justified && note.is_empty() {
            return Err(Invalid::one("note", "err-glass-note").into());
        }
        let mut tx = self.store().write().await?;
        let grant = tx.glass(id).await?.ok_or(ServiceError::NotFound)?;
        if grant.reviewed_at.is_some() {
            return Err(ServiceError::Conflict("err-glass-reviewed"));
        }
        tx.review_glass(id, actor.user_id, justified, note, &now()).await?;
        let verdict = if justified { "giustificato" } else { "non giustificato" };
        let reason = "revisione accesso di emergenza";
        let e = crate::audit::entry(actor, "review", "glass_access", Some(id), reason, Some(verdict.into()));
        tx.append_audit(&e.about(grant.person_id)).await?;
        tx.commit().await?;
        Ok(())
    }
}
