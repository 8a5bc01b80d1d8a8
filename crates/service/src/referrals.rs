//! Referrals between the organisations of the network and the notifications they raise.
//! Sending a referral shares nothing: the receiving organisation may accept only once the
//! person's record is visible to it — in practice, once a consent for it has been recorded.

use crate::audit::record;
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use percorsi_domain::referral::{DecisionForm, ReferralForm, ReferralStatus};
use percorsi_domain::Invalid;
use percorsi_store::{NotificationRow, ReferralInsert, ReferralRow};

impl Service {
    /// Refers a person the actor sees to another organisation, or records that the person came
    /// to the actor's organisation by themselves. Returns the referral's id.
    pub async fn refer(&self, actor: &Actor, person_id: i64, form: &ReferralForm) -> Result<i64> {
        policy::require(actor, Permission::RegisterPerson)?;
        let r = form.validate()?;
        let mut tx = self.store().write().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        let (from, to) = match r.to_organisation_id {
            None => (None, actor.organisation_id),
            Some(to) => {
                let org = tx.organisation(to).await?.filter(|o| o.active);
                if org.is_none() || to == actor.organisation_id {
                    return Err(Invalid::one("to_organisation_id", "err-unknown-choice").into());
                }
                (Some(actor.organisation_id), to)
            }
        };
        let id = tx
            .insert_referral(&ReferralInsert {
                person_id,
                from_org: from,
                to_org: to,
                support: r.support.map(|s| s.code()),
                reason: &r.reason,
                urgency: r.urgency.code(),
                created_by: actor.user_id,
            })
            .await?;
        if from.is_some() {
            let args = serde_json::json!({ "from": actor.organisation_name, "urgency": r.urgency.code() }).to_string();
            tx.notify(to, "notif-referral-received", &args, "/segnalazioni").await?;
        }
        record(
            &mut tx,
            actor,
            "create",
            "referral",
            Some(id),
            "segnalazione",
            Some(format!("person {person_id} → org {to}")),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The organisation's referrals, received and sent: the triage list.
    pub async fn referrals(&self, actor: &Actor) -> Result<Vec<ReferralRow>> {
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        let list = tx.referrals_of_organisation(&actor.scope()).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Of the organisation's referrals (as [`Service::referrals`] listed them), the open ones
    /// received that it may accept now: the
    /// person's record is visible to it (in practice, a consent for it is recorded). The triage
    /// list offers "accept" only for these, and says what is missing for the others.
    pub async fn acceptable_referrals(&self, actor: &Actor, list: &[ReferralRow]) -> Result<Vec<i64>> {
        policy::require(actor, Permission::ViewPersons)?;
        let scope = actor.scope();
        let mut tx = self.store().read().await?;
        let mut out = Vec::new();
        for r in list {
            let open_here = r.to_org == actor.organisation_id && r.status == ReferralStatus::Aperta.code();
            if open_here && tx.person_visible(&scope, r.person_id).await?.is_some() {
                out.push(r.id);
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn referrals_of_person(&self, actor: &Actor, person_id: i64) -> Result<Vec<ReferralRow>> {
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        let list = tx.referrals_of_person(&actor.scope(), person_id).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Accepts or declines a referral received by the actor's organisation.
    pub async fn decide_referral(&self, actor: &Actor, id: i64, form: &DecisionForm) -> Result<()> {
        policy::require(actor, Permission::RegisterPerson)?;
        let (status, reason) = form.validate()?;
        let mut tx = self.store().write().await?;
        let r = tx.referral(id).await?.filter(|r| r.to_org == actor.organisation_id).ok_or(ServiceError::NotFound)?;
        if r.status != ReferralStatus::Aperta.code() {
            return Err(ServiceError::Conflict("err-referral-decided"));
        }
        if status == ReferralStatus::Accettata && tx.person_visible(&actor.scope(), r.person_id).await?.is_none() {
            return Err(Invalid::one("decision", "err-referral-needs-consent").into());
        }
        tx.decide_referral(id, status.code(), reason.as_deref(), actor.user_id).await?;
        if let Some(from) = r.from_org {
            let args = serde_json::json!({ "to": actor.organisation_name, "code": r.person_code }).to_string();
            let message =
                if status == ReferralStatus::Accettata { "notif-referral-accepted" } else { "notif-referral-declined" };
            tx.notify(from, message, &args, &format!("/persone/{}", r.person_id)).await?;
        }
        record(
            &mut tx,
            actor,
            "update",
            "referral",
            Some(id),
            "esito della segnalazione",
            Some(status.code().to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organisation's notifications, newest first; reading them marks them read.
    pub async fn notifications(&self, actor: &Actor) -> Result<Vec<NotificationRow>> {
        policy::require(actor, Permission::ReadNotifications)?;
        let mut tx = self.store().write().await?;
        let list = tx.notifications(actor.organisation_id).await?;
        tx.mark_notifications_read(actor.organisation_id).await?;
        tx.commit().await?;
        Ok(list)
    }
}
