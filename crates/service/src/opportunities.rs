//! The opportunities catalogue and placements. Housing First: nothing here reads treatment,
//! substance or relapse data, and only an explicit end (with a reason from a list that has no
//! such reason) ends a placement.

use crate::audit::record;
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use percorsi_domain::consent::DataCategory;
use percorsi_domain::opportunity::{OpportunityForm, PlacementEndForm, PlacementForm};
use percorsi_domain::Invalid;
use percorsi_store::{OpportunityRow, PlacementRow};
use serde::Deserialize;

/// Search filters for the catalogue; blank means any.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct OpportunitySearch {
    pub territory: String,
    pub axis: String,
    pub kind: String,
}

fn blank(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

impl Service {
    pub async fn add_opportunity(&self, actor: &Actor, form: &OpportunityForm) -> Result<i64> {
        policy::require(actor, Permission::ManageOpportunities)?;
        let o = form.validate()?;
        let mut tx = self.store().write().await?;
        let id = tx.insert_opportunity(actor.organisation_id, &o).await?;
        record(&mut tx, actor, "create", "opportunity", Some(id), "nuova opportunità", Some(o.title.clone())).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn opportunities(&self, actor: &Actor, q: &OpportunitySearch) -> Result<Vec<OpportunityRow>> {
        policy::require(actor, Permission::ViewOpportunities)?;
        let mut tx = self.store().read().await?;
        let list = tx.opportunities(blank(&q.territory), blank(&q.axis), blank(&q.kind)).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Places a person the actor's organisation follows; refused when no place is free.
    pub async fn place(&self, actor: &Actor, opportunity: i64, form: &PlacementForm) -> Result<i64> {
        policy::require(actor, Permission::ManageProjects)?;
        let p = form.validate()?;
        let mut tx = self.store().write().await?;
        let o = tx.opportunity(opportunity).await?.ok_or(ServiceError::NotFound)?;
        tx.person_visible(&actor.scope(), p.person_id)
            .await?
            .ok_or_else(|| Invalid::one("person_id", "err-unknown-choice"))?;
        if o.available <= 0 {
            return Err(Invalid::one("opportunity", "err-opportunity-full").into());
        }
        if let Some((project, objective)) = p.project {
            let pr = tx.project_visible(&actor.scope(), project).await?.filter(|pr| pr.person_id == p.person_id);
            if pr.is_none() {
                return Err(Invalid::one("project_id", "err-unknown-choice").into());
            }
            if objective < 1 {
                return Err(Invalid::one("objective", "err-unknown-choice").into());
            }
        }
        let id = tx.insert_placement(opportunity, actor.organisation_id, &p, actor.user_id).await?;
        record(
            &mut tx,
            actor,
            "create",
            "placement",
            Some(id),
            "inserimento",
            Some(format!("person {} in {}", p.person_id, o.title)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn end_placement(&self, actor: &Actor, id: i64, form: &PlacementEndForm) -> Result<()> {
        policy::require(actor, Permission::ManageProjects)?;
        let mut tx = self.store().write().await?;
        let p = tx
            .placement(id)
            .await?
            .filter(|p| p.organisation_id == actor.organisation_id)
            .ok_or(ServiceError::NotFound)?;
        let (end, reason) = form.validate(p.start_date)?;
        tx.end_placement(id, end, reason.code()).await?;
        record(&mut tx, actor, "update", "placement", Some(id), "fine inserimento", Some(reason.code().to_string()))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn placements_of_person(&self, actor: &Actor, person_id: i64) -> Result<Vec<PlacementRow>> {
        let mut tx = self.store().read().await?;
        let access = policy::person_access(&mut tx, actor, person_id).await?;
        let list = tx.placements_of_person(person_id, access.owners(DataCategory::Intervention)).await?;
        tx.commit().await?;
        self.record_person_read(actor, person_id, "placement_list", None, "inserimenti della persona").await?;
        Ok(list)
    }
}
