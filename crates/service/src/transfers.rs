//! Case transfer and case-manager reassignment (issue 15; Primero's transfer is the model): the
//! organisation in charge proposes, with a handover note; the receiver accepts or declines;
//! nothing changes until it accepts. Within an organisation the named colleague becomes the
//! case manager; towards another organisation the receiver opens its own care episode (from
//! the day it accepts) and the sender's closes as "transferred".

use crate::audit::record;
use crate::pathway::{check_case_manager, own_open_episode};
use crate::policy::{self, Permission};
use crate::{today, Actor, Result, Service, ServiceError};
use percorsi_domain::codes::{EpisodeClosure, Substance};
use percorsi_domain::episode::{EpisodeClose, NewEpisode};
use percorsi_domain::transfer::{TransferDecisionForm, TransferForm, TransferStatus};
use percorsi_domain::Invalid;
use percorsi_store::{StoreError, TransferInsert, TransferRow};

impl Service {
    /// Proposes moving an open episode of the actor's organisation to a colleague or to
    /// another organisation.
    pub async fn propose_transfer(&self, actor: &Actor, episode_id: i64, form: &TransferForm) -> Result<i64> {
        policy::require(actor, Permission::TransferCases)?;
        let t = form.validate(actor.organisation_id)?;
        let mut tx = self.store().write().await?;
        let ep = own_open_episode(&mut tx, actor, episode_id).await?;
        let target = tx.organisation(t.to_organisation_id).await?.filter(|o| o.active);
        if target.is_none() {
            return Err(Invalid::one("to_organisation_id", "err-unknown-choice").into());
        }
        if t.to_organisation_id != actor.organisation_id
            && tx.open_episode_exists(ep.person_id, t.to_organisation_id).await?
        {
            return Err(Invalid::one("to_organisation_id", "err-transfer-already-in-care").into());
        }
        if let Some(user) = t.to_user_id {
            let managers = tx.members_with_roles(Some(t.to_organisation_id), &["case_manager"]).await?;
            if user == ep.case_manager_id || !managers.iter().any(|m| m.user_id == user) {
                return Err(Invalid::one("to_user_id", "err-unknown-choice").into());
            }
        }
        let id = tx
            .insert_transfer(&TransferInsert {
                person_id: ep.person_id,
                episode_id,
                from_org: actor.organisation_id,
                to_org: t.to_organisation_id,
                to_user: t.to_user_id,
                handover: &t.handover,
                created_by: actor.user_id,
            })
            .await
            .map_err(|e| match e {
                StoreError::Duplicate => ServiceError::Conflict("err-transfer-open"),
                other => other.into(),
            })?;
        if t.to_organisation_id != actor.organisation_id {
            let args = serde_json::json!({ "from": actor.organisation_name }).to_string();
            tx.notify(t.to_organisation_id, "notif-transfer-received", &args, "/segnalazioni").await?;
        }
        record(
            &mut tx,
            actor,
            "create",
            "transfer",
            Some(id),
            "trasferimento proposto",
            Some(format!("episode {episode_id} → org {}", t.to_organisation_id)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The transfers the actor's organisation sent or received.
    pub async fn transfers(&self, actor: &Actor) -> Result<Vec<TransferRow>> {
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        let list = tx.transfers_of_organisation(&actor.scope()).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn transfers_of_person(&self, actor: &Actor, person_id: i64) -> Result<Vec<TransferRow>> {
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        let list = tx.transfers_of_person(&actor.scope(), person_id).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Whether the actor may decide this transfer: it is open and addressed to their
    /// organisation, and to them when it names a colleague.
    pub fn may_decide_transfer(actor: &Actor, t: &TransferRow) -> bool {
        policy::allows(actor.role, Permission::TransferCases)
            && t.status == TransferStatus::Proposto.code()
            && t.to_org == actor.organisation_id
            && t.to_user.is_none_or(|u| u == actor.user_id)
    }

    /// Withdraws a transfer the actor's organisation proposed and nobody has decided yet.
    pub async fn withdraw_transfer(&self, actor: &Actor, id: i64) -> Result<i64> {
        policy::require(actor, Permission::TransferCases)?;
        let mut tx = self.store().write().await?;
        let t = tx.transfer(id).await?.filter(|t| t.from_org == actor.organisation_id).ok_or(ServiceError::NotFound)?;
        tx.decide_transfer(id, TransferStatus::Annullato.code(), None, actor.user_id)
            .await
            .map_err(decided_meanwhile)?;
        record(&mut tx, actor, "update", "transfer", Some(id), "trasferimento ritirato", None).await?;
        tx.commit().await?;
        Ok(t.person_id)
    }

    /// Accepts or declines a transfer addressed to the actor. A transfer decided meanwhile by
    /// someone else answers a conflict that says so.
    pub async fn decide_transfer(&self, actor: &Actor, id: i64, form: &TransferDecisionForm) -> Result<i64> {
        policy::require(actor, Permission::TransferCases)?;
        let d = form.validate()?;
        let mut tx = self.store().write().await?;
        let t = tx.transfer(id).await?.filter(|t| t.to_org == actor.organisation_id).ok_or(ServiceError::NotFound)?;
        if t.status != TransferStatus::Proposto.code() {
            return Err(ServiceError::Conflict("err-transfer-decided"));
        }
        if t.to_user.is_some_and(|u| u != actor.user_id) {
            return Err(ServiceError::Forbidden);
        }
        let day = today();
        let status = if d.accept { TransferStatus::Accettato } else { TransferStatus::Rifiutato };
        let manager = t.to_user.or(d.case_manager_id).unwrap_or(actor.user_id);
        if d.accept {
            check_case_manager(&mut tx, actor, manager).await?;
        }
        // Claim the decision first: of two deciders racing, the second waits here and finds it
        // decided (409), before touching any episode.
        tx.decide_transfer(id, status.code(), d.note.as_deref(), actor.user_id).await.map_err(decided_meanwhile)?;
        if d.accept {
            let old = tx.episode(t.episode_id).await?.ok_or(ServiceError::NotFound)?;
            if old.end_date.is_some() {
                return Err(ServiceError::Conflict("err-episode-closed"));
            }
            if t.from_org == t.to_org {
                tx.reassign_case(t.episode_id, t.person_id, t.to_org, manager, &day.to_string()).await?;
            } else {
                let parse = |s: &Option<String>| s.as_deref().and_then(Substance::parse);
                let episode = NewEpisode {
                    start_date: day,
                    case_manager_id: manager,
                    substance_start: parse(&old.substance_start),
                    substance_current: parse(&old.substance_current),
                    treatment_in_progress: old.treatment_in_progress,
                };
                let new_episode = tx.insert_episode(t.person_id, t.to_org, &episode).await?;
                tx.close_episode(t.episode_id, &EpisodeClose { end_date: day, closure: EpisodeClosure::Trasferimento })
                    .await?;
                tx.transfer_opened(id, new_episode).await?;
            }
        }
        if t.from_org != t.to_org {
            let args = serde_json::json!({ "to": actor.organisation_name, "code": t.person_code }).to_string();
            let message = if d.accept { "notif-transfer-accepted" } else { "notif-transfer-declined" };
            // Once accepted the record is no longer the sender's to open: the link is the list.
            tx.notify(t.from_org, message, &args, "/segnalazioni").await?;
        }
        record(
            &mut tx,
            actor,
            "update",
            "transfer",
            Some(id),
            "decisione sul trasferimento",
            Some(status.code().into()),
        )
        .await?;
        tx.commit().await?;
        Ok(t.person_id)
    }
}

/// A transfer no longer open when its decision was written: someone else decided or withdrew
/// it first.
fn decided_meanwhile(e: StoreError) -> ServiceError {
    match e {
        StoreError::NotFound => ServiceError::Conflict("err-transfer-decided"),
        other => other.into(),
    }
}
