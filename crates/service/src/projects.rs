//! Personalised projects: the case manager writes the plan with the person and the services,
//! every change is a new version, reviews record how each objective stands. Anyone who sees
//! the person (care episode, consent, care team) sees the project; only the organisation in
//! charge changes it.

use crate::audit::record;
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use chrono::{Duration, NaiveDate};
use percorsi_domain::consent::DataCategory;
use percorsi_domain::project::{parse_plan, parse_review, ObjectiveOutcome, Plan, ProgressForm, Review};
use percorsi_store::{Mode, ProgressRow, ProgressWrite, ProjectRow, ProjectWrite, Tx};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A project as its page shows it: a chosen version with the history around it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    pub project: ProjectRow,
    /// The version shown (the current one unless asked otherwise).
    pub version: i64,
    pub plan: Plan,
    pub reason: String,
    pub author_name: String,
    pub versions: Vec<VersionSummary>,
    pub reviews: Vec<ReviewView>,
    /// Organisation id → name, for the responsible organisations.
    pub organisations: BTreeMap<i64, String>,
    /// Per objective, the supports in place: the person's protocol interventions of a type the
    /// objective asks for (over the project's period), and placements made for the objective.
    pub supports_in_place: Vec<Vec<SupportInPlace>>,
    pub can_manage: bool,
    /// Per objective, the progress its responsible organisation reported, oldest first.
    pub progress: Vec<Vec<ProgressRow>>,
    /// Per objective, whether the actor may report its progress (their organisation is the
    /// one responsible for it).
    pub reports_progress: Vec<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupportInPlace {
    /// `intervention` or `placement`.
    pub kind: String,
    pub id: i64,
    /// The intervention type code, or the opportunity's title.
    pub what: String,
    pub status: String,
    pub start: NaiveDate,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub version: i64,
    pub reason: String,
    pub author_name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    pub version: i64,
    pub author_name: String,
    pub review: Review,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgendaKind {
    ReviewDue,
    ReviewOverdue,
    NoRecentReview,
    CommitmentOverdue,
}

/// One thing to do on a project, for the case manager's agenda.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgendaItem {
    pub kind: AgendaKind,
    pub project_id: i64,
    pub person_id: i64,
    pub person_code: String,
    /// Where the reader may see the person's identity.
    pub person_name: Option<String>,
    pub date: NaiveDate,
    /// The objective, for an overdue commitment.
    pub detail: String,
}

/// The plan of the project's current version.
pub(crate) async fn current_plan<M: Mode>(tx: &mut Tx<M>, project: &ProjectRow) -> Result<Plan> {
    let versions = tx.project_versions(project.id).await?;
    let current = versions.iter().find(|v| v.version == project.current_version).ok_or(ServiceError::NotFound)?;
    plan_of(&current.content)
}

pub(crate) fn plan_of(content: &str) -> Result<Plan> {
    serde_json::from_str(content).map_err(|e| ServiceError::Broken(format!("stored plan: {e}")))
}

async fn organisation_ids<M: Mode>(tx: &mut Tx<M>) -> Result<BTreeMap<i64, String>> {
    Ok(tx.organisations().await?.into_iter().map(|o| (o.id, o.name)).collect())
}

/// A project the actor's organisation is in charge of, for a change.
async fn own_project<M: Mode>(tx: &mut Tx<M>, actor: &Actor, id: i64) -> Result<ProjectRow> {
    policy::require(actor, Permission::ManageProjects)?;
    let p = tx.project_visible(&actor.scope(), id).await?.ok_or(ServiceError::NotFound)?;
    if p.organisation_id != actor.organisation_id {
        return Err(ServiceError::Forbidden);
    }
    Ok(p)
}

impl Service {
    /// A new project for a person the actor's organisation follows; returns its id.
    pub async fn create_project(&self, actor: &Actor, person_id: i64, raw: &BTreeMap<String, String>) -> Result<i64> {
        policy::require(actor, Permission::ManageProjects)?;
        let mut tx = self.store().write().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        let orgs = organisation_ids(&mut tx).await?;
        let plan = parse_plan(raw, |id| orgs.contains_key(&id))?;
        let content = crate::to_json(&plan)?;
        let w = ProjectWrite {
            content: &content,
            reason: "prima stesura",
            start: plan.start,
            end: plan.end,
            next_review: plan.next_review,
            author_id: actor.user_id,
            author_org: actor.organisation_id,
        };
        let id = tx.insert_project(person_id, actor.user_id, &w).await?;
        let detail = format!("person {person_id}, {} obiettivi", plan.objectives.len());
        record(&mut tx, actor, "create", "project", Some(id), "progetto personalizzato", Some(detail)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a project: the new content becomes the next version; the earlier ones stay.
    pub async fn revise_project(&self, actor: &Actor, id: i64, raw: &BTreeMap<String, String>) -> Result<i64> {
        let mut tx = self.store().write().await?;
        own_project(&mut tx, actor, id).await?;
        let orgs = organisation_ids(&mut tx).await?;
        let mut c = percorsi_domain::validation::Checker::new();
        let reason = c.required_text("reason", raw.get("reason").map(String::as_str).unwrap_or(""), 500);
        let plan = match (parse_plan(raw, |id| orgs.contains_key(&id)), c.finish(|| ())) {
            (Ok(p), Ok(())) => p,
            (Err(mut a), Err(b)) => {
                a.0.extend(b.0);
                return Err(a.into());
            }
            (Err(a), _) | (_, Err(a)) => return Err(a.into()),
        };
        let content = crate::to_json(&plan)?;
        let w = ProjectWrite {
            content: &content,
            reason: &reason,
            start: plan.start,
            end: plan.end,
            next_review: plan.next_review,
            author_id: actor.user_id,
            author_org: actor.organisation_id,
        };
        let version = tx.add_project_version(id, &w).await?;
        record(
            &mut tx,
            actor,
            "update",
            "project",
            Some(id),
            "nuova versione del progetto",
            Some(format!("v{version}: {reason}")),
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Records a review of the current version and sets the next one.
    pub async fn review_project(&self, actor: &Actor, id: i64, raw: &BTreeMap<String, String>) -> Result<i64> {
        let mut tx = self.store().write().await?;
        let p = own_project(&mut tx, actor, id).await?;
        let plan = current_plan(&mut tx, &p).await?;
        let review = parse_review(raw, plan.objectives.len(), crate::today())?;
        let rid = tx
            .add_project_review(
                id,
                p.current_version,
                (review.date, review.next_review),
                &crate::to_json(&review)?,
                (actor.user_id, actor.organisation_id),
            )
            .await?;
        record(
            &mut tx,
            actor,
            "create",
            "project_review",
            Some(id),
            "verifica del progetto",
            Some(format!("v{}", p.current_version)),
        )
        .await?;
        tx.commit().await?;
        Ok(rid)
    }

    /// A project and its history, at `version` (the current one when `None`). Audited.
    pub async fn project(&self, actor: &Actor, id: i64, version: Option<i64>) -> Result<ProjectView> {
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        let project = tx.project_visible(&actor.scope(), id).await?.ok_or(ServiceError::NotFound)?;
        let versions = tx.project_versions(id).await?;
        let wanted = version.unwrap_or(project.current_version);
        let shown = versions.iter().find(|v| v.version == wanted).ok_or(ServiceError::NotFound)?;
        let plan = plan_of(&shown.content)?;
        let reviews = tx
            .project_reviews(id)
            .await?
            .into_iter()
            .map(|r| {
                let review: Review = serde_json::from_str(&r.content)
                    .map_err(|e| ServiceError::Broken(format!("stored review: {e}")))?;
                Ok(ReviewView { version: r.version, author_name: r.author_name, review })
            })
            .collect::<Result<Vec<_>>>()?;
        let organisations = organisation_ids(&mut tx).await?;
        let access = policy::person_access(&mut tx, actor, project.person_id).await?;
        if !access.shows_row_of(project.organisation_id, DataCategory::Project) {
            return Err(ServiceError::NotFound);
        }
        let interventions = tx
            .interventions_of_person(&actor.scope(), project.person_id, access.owners(DataCategory::Intervention))
            .await?;
        let placements = tx.placements_of_person(project.person_id, access.owners(DataCategory::Intervention)).await?;
        let supports_in_place = plan
            .objectives
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let mut list: Vec<SupportInPlace> = interventions
                    .iter()
                    .filter(|it| o.supports.iter().any(|s| s.code() == it.intervention_type))
                    // Running now, or planned within the project's period.
                    .filter(|it| {
                        !matches!(it.status.as_str(), "concluso" | "interrotto")
                            || (it.planned_end >= plan.start && it.planned_start <= plan.end)
                    })
                    .map(|it| SupportInPlace {
                        kind: "intervention".into(),
                        id: it.id,
                        what: it.intervention_type.clone(),
                        status: it.status.clone(),
                        start: it.actual_start.unwrap_or(it.planned_start),
                    })
                    .collect();
                list.extend(
                    placements.iter().filter(|p| p.project_id == Some(id) && p.objective == Some(i as i64 + 1)).map(
                        |p| SupportInPlace {
                            kind: "placement".into(),
                            id: p.id,
                            what: p.opportunity_title.clone(),
                            status: if p.end_date.is_some() { "concluso".into() } else { "attivo".into() },
                            start: p.start_date,
                        },
                    ),
                );
                list
            })
            .collect();
        let reports = tx.objective_progress(id).await?;
        tx.commit().await?;
        let progress = (0..plan.objectives.len())
            .map(|i| reports.iter().filter(|r| r.objective == i as i64).cloned().collect())
            .collect();
        let reports_progress = plan
            .objectives
            .iter()
            .map(|o| {
                o.responsible_organisation_id == actor.organisation_id
                    && policy::allows(actor.role, Permission::ReportObjectiveProgress)
            })
            .collect();
        self.record_person_read(actor, project.person_id, "project", Some(id), "consultazione progetto").await?;
        let can_manage =
            project.organisation_id == actor.organisation_id && policy::allows(actor.role, Permission::ManageProjects);
        Ok(ProjectView {
            version: wanted,
            reason: shown.reason.clone(),
            author_name: shown.author_name.clone(),
            plan,
            versions: versions
                .iter()
                .map(|v| VersionSummary {
                    version: v.version,
                    reason: v.reason.clone(),
                    author_name: v.author_name.clone(),
                    created_at: v.created_at.clone(),
                })
                .collect(),
            reviews,
            organisations,
            supports_in_place,
            can_manage,
            progress,
            reports_progress,
            project,
        })
    }

    /// Progress on one objective (1-based `objective`), reported by the organisation
    /// responsible for it: its own row, beside the owner's reviews, never a change to the plan.
    pub async fn report_progress(&self, actor: &Actor, id: i64, objective: usize, form: &ProgressForm) -> Result<i64> {
        policy::require(actor, Permission::ReportObjectiveProgress)?;
        let mut tx = self.store().write().await?;
        let project = tx.project_visible(&actor.scope(), id).await?.ok_or(ServiceError::NotFound)?;
        let access = policy::person_access(&mut tx, actor, project.person_id).await?;
        if !access.shows_row_of(project.organisation_id, DataCategory::Project) {
            return Err(ServiceError::NotFound);
        }
        let plan = current_plan(&mut tx, &project).await?;
        let target = objective
            .checked_sub(1)
            .and_then(|i| plan.objectives.get(i).map(|o| (i, o)))
            .ok_or(ServiceError::NotFound)?;
        if target.1.responsible_organisation_id != actor.organisation_id {
            return Err(ServiceError::Forbidden);
        }
        let p = form.validate()?;
        let row = tx
            .insert_objective_progress(&ProgressWrite {
                project_id: id,
                objective: target.0 as i64,
                version: project.current_version,
                organisation_id: actor.organisation_id,
                user_id: actor.user_id,
                status: p.status.code(),
                note: p.note.as_deref(),
            })
            .await?;
        let detail = format!("obiettivo {objective}: {}", p.status.code());
        let e = crate::audit::entry(actor, "update", "project", Some(id), "avanzamento obiettivo", Some(detail));
        tx.append_audit(&e.about(project.person_id)).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn projects_of_person(&self, actor: &Actor, person_id: i64) -> Result<Vec<ProjectRow>> {
        let mut tx = self.store().read().await?;
        let access = policy::person_access(&mut tx, actor, person_id).await?;
        let list = tx.projects_of_person(&actor.scope(), person_id, access.owners(DataCategory::Project)).await?;
        tx.commit().await?;
        self.record_person_read(actor, person_id, "project_list", None, "progetti della persona").await?;
        Ok(list)
    }

    /// What is due on the organisation's projects: reviews due within two weeks or late,
    /// projects without a review for six months, commitments past their date and not reached.
    pub async fn project_agenda(&self, actor: &Actor) -> Result<Vec<AgendaItem>> {
        let out = self.agenda_items(actor).await?;
        let named = out.iter().filter(|a| a.person_name.is_some()).map(|a| a.person_id).collect::<BTreeSet<_>>().len();
        if named > 0 {
            self.record_read(actor, "person_list", None, "agenda dei progetti", Some(format!("{named} persone")))
                .await?;
        }
        Ok(out)
    }

    /// The agenda without the audit of its names: for counts that show none (the e-mail digest).
    pub(crate) async fn agenda_items(&self, actor: &Actor) -> Result<Vec<AgendaItem>> {
        if !policy::allows(actor.role, Permission::ManageProjects) {
            return Ok(Vec::new());
        }
        let today = crate::today();
        let mut tx = self.store().read().await?;
        let rows = tx.projects_in_force(&actor.scope()).await?;
        tx.commit().await?;
        let mut out = Vec::new();
        for (p, content, last) in rows {
            let item = |kind: AgendaKind, date: NaiveDate, detail: String| AgendaItem {
                kind,
                project_id: p.id,
                person_id: p.person_id,
                person_code: p.person_code.clone(),
                person_name: p.person_name.clone(),
                date,
                detail,
            };
            if p.next_review <= today + Duration::days(14) {
                let kind = if p.next_review < today { AgendaKind::ReviewOverdue } else { AgendaKind::ReviewDue };
                out.push(item(kind, p.next_review, String::new()));
            }
            let last_date = last.as_ref().map(|(d, _)| *d).unwrap_or(p.start_date);
            if last_date < today - Duration::days(180) {
                out.push(item(AgendaKind::NoRecentReview, last_date, String::new()));
            }
            let plan = plan_of(&content)?;
            let outcomes: Vec<ObjectiveOutcome> = match &last {
                Some((_, c)) => serde_json::from_str::<Review>(c).map(|r| r.outcomes).unwrap_or_default(),
                None => Vec::new(),
            };
            for (i, o) in plan.objectives.iter().enumerate() {
                let reached = outcomes.get(i) == Some(&ObjectiveOutcome::Raggiunto);
                if let Some(due) = o.due.filter(|d| *d < today && !reached) {
                    out.push(item(AgendaKind::CommitmentOverdue, due, o.title.clone()));
                }
            }
        }
        out.sort_by_key(|a| a.date);
        Ok(out)
    }
}
