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
use serde::{Deserialize, Serialize};

/// One thing the placement form offers: a person the actor follows, alone or with one
/// objective of a project in force (the page never asks for internal numbers).
#[derive(Debug, Clone, Serialize)]
pub struct PlacementChoice {
    /// The form's `target`: `person` or `person/project/objective`.
    pub value: String,
    /// The person as the actor may see them: "Surname Name" or the code.
    pub person: String,
    /// 1-based number and title of the objective.
    pub objective: Option<(usize, String)>,
}

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

    /// The territories the catalogue has, for the search filter.
    pub async fn opportunity_territories(&self, actor: &Actor) -> Result<Vec<String>> {
        policy::require(actor, Permission::ViewOpportunities)?;
        let mut tx = self.store().read().await?;
        let list = tx.opportunity_territories().await?;
        tx.commit().await?;
        Ok(list)
    }

    /// What the placement form offers the actor: each person they follow, first with every
    /// objective of their projects in force, then without one; ordered by name (or code).
    pub async fn placement_choices(&self, actor: &Actor) -> Result<Vec<PlacementChoice>> {
        policy::require(actor, Permission::ManageProjects)?;
        let people = self.followed(actor).await?;
        let mut tx = self.store().read().await?;
        let projects = tx.projects_in_force(&actor.scope()).await?;
        tx.commit().await?;
        let mut out = Vec::new();
        for p in &people {
            let person = match (&p.surname, &p.name) {
                (Some(s), Some(n)) => format!("{s} {n}"),
                _ => p.code.clone(),
            };
            for (project, content, _) in projects.iter().filter(|(pr, _, _)| pr.person_id == p.id) {
                let plan = crate::projects::plan_of(content)?;
                for (i, o) in plan.objectives.iter().enumerate() {
                    out.push(PlacementChoice {
                        value: format!("{}/{}/{}", p.id, project.id, i + 1),
                        person: person.clone(),
                        objective: Some((i + 1, o.title.clone())),
                    });
                }
            }
            out.push(PlacementChoice { value: p.id.to_string(), person, objective: None });
        }
        Ok(out)
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
            let Some(pr) = pr else {
                return Err(Invalid::one("project_id", "err-unknown-choice").into());
            };
            let objectives = crate::projects::current_plan(&mut tx, &pr).await?.objectives.len();
            if objective < 1 || objective as usize > objectives {
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
