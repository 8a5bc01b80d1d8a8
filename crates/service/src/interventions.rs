//! Interventions: planning, lifecycle with the budget ledger, monitoring, attendance, payments,
//! conclusion, the pre/post forms, the tutor's restricted view and the case manager's due list.

use crate::audit::record;
use crate::instruments;
use crate::policy::{self, allows, Permission};
use crate::{today, Actor, Result, Service, ServiceError};
use chrono::{Duration, NaiveDate};
use percorsi_domain::codes::OrganisationKind;
use percorsi_domain::consent::DataCategory;
use percorsi_domain::instrument::{autonomy_change, AssessmentKind, AutonomyChange, Instrument, SectionScore};
use percorsi_domain::intervention::{
    months_between, parse_programme_and_type, AttendanceForm, ConclusionForm, InterruptionReason, InterventionForm,
    InterventionStatus, Monitoring, MonitoringForm, Outcome, PaymentForm, ProgrammeContext, Transition, TransitionForm,
};
use percorsi_domain::ledger::InterventionMoney;
use percorsi_domain::programme::{AmountKind, InterventionType, Rule};
use percorsi_domain::relapse::RelapseForm;
use percorsi_domain::{FieldError, Invalid};
use percorsi_store::{
    AssessmentWrite, AttendanceRow, EventRow, InterventionInsert, InterventionRow, InterventionSummary, MembershipRow,
    Mode, PaymentRow, RelapseRow, RuleRow, TutorInterventionRow, Tx,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// A filled form as the intervention page shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FilledForm {
    pub kind: AssessmentKind,
    pub instrument_code: String,
    pub instrument_version: i64,
    pub assessed_on: NaiveDate,
    pub author_name: String,
    pub scores: Vec<SectionScore>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InterventionDetail {
    pub intervention: InterventionRow,
    pub events: Vec<EventRow>,
    /// Dated relapses, where relapse data are shown to the reader.
    pub relapses: Vec<RelapseRow>,
    pub payments: Vec<PaymentRow>,
    pub attendance: Vec<AttendanceRow>,
    pub money: InterventionMoney,
    pub outstanding: i64,
    pub forms: Vec<FilledForm>,
    /// Pre vs post personal autonomy, when both forms have the section complete.
    pub autonomy_change: Option<AutonomyChange>,
    /// Transitions the actor may apply now.
    pub transitions: Vec<Transition>,
    pub can_manage: bool,
    pub can_pay: bool,
}

/// The tutor's page: schedule, attendance and their observations, nothing else.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TutorDetail {
    pub intervention: TutorInterventionRow,
    pub attendance: Vec<AttendanceRow>,
    /// Scores of the sections tutors fill (A, B, C and how the intervention went).
    pub observations: Vec<SectionScore>,
}

/// A form to fill: the definition, the answers so far and which sections the author may fill.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FormView {
    pub instrument: Instrument,
    pub answers: BTreeMap<String, i64>,
    pub assessed_on: Option<NaiveDate>,
    pub editable_sections: Vec<String>,
    pub scores: Vec<SectionScore>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DueItem {
    pub intervention: InterventionSummary,
    /// Fluent id: `due-activate`, `due-pre-form`, `due-ending`, `due-overdue`, `due-post-form`.
    pub reason: &'static str,
}

/// The choices an intervention form needs.
#[derive(Debug, Clone, Serialize)]
pub struct PlanningChoices {
    pub programmes: Vec<(percorsi_store::ProgrammeRow, Vec<RuleRow>)>,
    pub hosts: Vec<percorsi_store::OrganisationRow>,
    pub tutors: Vec<MembershipRow>,
}

const HOST_KINDS: [OrganisationKind; 4] = [
    OrganisationKind::Azienda,
    OrganisationKind::CooperativaSociale,
    OrganisationKind::EnteFormazione,
    OrganisationKind::Associazione,
];

fn rule_of(r: &RuleRow) -> Option<Rule> {
    Some(Rule {
        intervention_type: InterventionType::parse(&r.intervention_type)?,
        min_months: r.min_months as u32,
        max_months: r.max_months as u32,
        amount_cents: r.amount_cents,
        amount_kind: AmountKind::parse(&r.amount_kind)?,
    })
}

fn status_of(row: &InterventionRow) -> Result<InterventionStatus> {
    InterventionStatus::parse(&row.status)
        .ok_or_else(|| ServiceError::Broken(format!("intervention {} has status {}", row.id, row.status)))
}

impl Service {
    /// What the planning form offers: programmes the actor's organisation takes part in (with
    /// their rules in force), host organisations and their tutors.
    pub async fn planning_choices(&self, actor: &Actor) -> Result<PlanningChoices> {
        policy::require(actor, Permission::ManageInterventions)?;
        let mut tx = self.store().read().await?;
        let mut programmes = Vec::new();
        for p in tx.programmes().await? {
            if tx.participant_budget(p.id, actor.organisation_id).await?.is_some() {
                let rules = tx.current_rules(p.id).await?;
                programmes.push((p, rules));
            }
        }
        let hosts = tx
            .organisations()
            .await?
            .into_iter()
            .filter(|o| o.active && HOST_KINDS.iter().any(|k| k.code() == o.kind))
            .collect();
        let tutors = tx.members_with_roles(None, &["tutor_aziendale"]).await?;
        tx.commit().await?;
        Ok(PlanningChoices { programmes, hosts, tutors })
    }

    /// Proposes an intervention for a person the actor's organisation follows.
    pub async fn create_intervention(&self, actor: &Actor, person_id: i64, form: &InterventionForm) -> Result<i64> {
        policy::require(actor, Permission::ManageInterventions)?;
        let mut tx = self.store().write().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        let (programme_id, _) = parse_programme_and_type(form);
        let programme = match programme_id {
            Some(id) => tx.programme(id).await?,
            None => None,
        };
        let mut rule_rows = Vec::new();
        if let Some(p) = &programme {
            if tx.participant_budget(p.id, actor.organisation_id).await?.is_none() {
                return Err(Invalid::one("programme_id", "err-not-participant").into());
            }
            rule_rows = tx.current_rules(p.id).await?;
        }
        let rules: Vec<Rule> = rule_rows.iter().filter_map(rule_of).collect();
        let ctx = programme.as_ref().map(|p| ProgrammeContext { start: p.start_date, end: p.end_date, rules: &rules });
        let validated = form.validate(ctx.as_ref());
        // Host and tutor are checked against the data even when other fields are wrong, so the
        // user sees every problem at once.
        let mut problems = Vec::new();
        if let Ok(host_id) = form.host_organisation_id.trim().parse::<i64>() {
            let host =
                tx.organisation(host_id).await?.filter(|o| o.active && HOST_KINDS.iter().any(|k| k.code() == o.kind));
            if host.is_none() {
                problems.push(FieldError::new("host_organisation_id", "err-host-kind"));
            } else if let Ok(tutor) = form.tutor_id.trim().parse::<i64>() {
                let tutors = tx.members_with_roles(Some(host_id), &["tutor_aziendale"]).await?;
                if !tutors.iter().any(|m| m.user_id == tutor) {
                    problems.push(FieldError::new("tutor_id", "err-tutor-of-host"));
                }
            }
        }
        // Seed 001: a work insertion is for people whose social and work capacities have been
        // assessed — a multidimensional assessment in the last twelve months.
        if parse_programme_and_type(form).1 == Some(InterventionType::InserimentoLavorativo) {
            let assessed = tx.latest_assessment_date(person_id).await?;
            if assessed.is_none_or(|d| d < today() - chrono::Duration::days(365)) {
                problems.push(FieldError::new("intervention_type", "err-work-insertion-needs-assessment"));
            }
        }
        let new = match validated {
            Ok(new) if problems.is_empty() => new,
            Ok(_) => return Err(Invalid(problems).into()),
            Err(Invalid(mut errors)) => {
                errors.extend(problems);
                return Err(Invalid(errors).into());
            }
        };
        let rule_id = rule_rows
            .iter()
            .find(|r| r.intervention_type == new.intervention_type.code())
            .map(|r| r.id)
            .ok_or(ServiceError::NotFound)?;
        let id = tx
            .insert_intervention(&InterventionInsert {
                new: &new,
                rule_id,
                person_id,
                organisation_id: actor.organisation_id,
                case_manager_id: actor.user_id,
            })
            .await?;
        // An intervention recorded after it started was proposed no later than its start: the
        // timeline never shows a proposal after the activation (the entry keeps when it was
        // recorded).
        let proposed_on = today().min(new.planned_start);
        tx.insert_event(id, "crea", None, "proposto", proposed_on, None, actor.user_id, actor.organisation_id).await?;
        record(
            &mut tx,
            actor,
            "create",
            "intervention",
            Some(id),
            "proposta di intervento",
            Some(format!("person {person_id}, {}", new.intervention_type)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Activation, suspension, resumption and prolongation, with their effect on the ledger.
    pub async fn transition(&self, actor: &Actor, id: i64, form: &TransitionForm) -> Result<i64> {
        policy::require(actor, Permission::ManageInterventions)?;
        let step = form.validate(today())?;
        let mut tx = self.store().write().await?;
        let row = locked_intervention(&mut tx, actor, id).await?;
        let from = status_of(&row)?;
        let to = from.apply(step.transition).ok_or_else(|| illegal(from, step.transition))?;
        let rule = tx.rule(row.rule_id).await?.as_ref().and_then(rule_of).ok_or(ServiceError::NotFound)?;
        let mut actual_start = None;
        let mut planned_end = None;
        match step.transition {
            Transition::Activate => {
                if step.date > row.planned_end {
                    return Err(Invalid::one("date", "err-activation-after-end").into());
                }
                let cost = row.monthly_amount_cents * months_between(row.planned_start, row.planned_end) as i64;
                commit(&mut tx, actor, &row, cost).await?;
                actual_start = Some(step.date);
            }
            Transition::Prolong => {
                let new_end = step.new_end.ok_or_else(|| Invalid::one("new_end", "err-required"))?;
                if new_end <= row.planned_end {
                    let e = FieldError::new("new_end", "err-prolong-not-later")
                        .arg("end", row.planned_end.format("%d/%m/%Y").to_string());
                    return Err(Invalid(vec![e]).into());
                }
                let start = row.actual_start.unwrap_or(row.planned_start);
                let total = months_between(start, new_end);
                if total > rule.max_months {
                    let e = FieldError::new("new_end", "err-duration-rule")
                        .arg("type", rule.intervention_type.code())
                        .arg("min", rule.min_months.to_string())
                        .arg("max", rule.max_months.to_string())
                        .arg("months", total.to_string());
                    return Err(Invalid(vec![e]).into());
                }
                let extra =
                    total.saturating_sub(months_between(start, row.planned_end)) as i64 * row.monthly_amount_cents;
                commit(&mut tx, actor, &row, extra).await?;
                planned_end = Some(new_end);
            }
            Transition::Suspend | Transition::Resume => {}
            Transition::Conclude | Transition::Interrupt => {
                return Err(Invalid::one("transition", "err-use-conclusion-form").into())
            }
        }
        tx.set_intervention_status(id, from.code(), to.code(), actual_start, planned_end).await?;
        tx.insert_event(
            id,
            step.transition.code(),
            Some(from.code()),
            to.code(),
            step.date,
            step.note.as_deref(),
            actor.user_id,
            actor.organisation_id,
        )
        .await?;
        record(&mut tx, actor, "update", "intervention", Some(id), "cambio di stato", Some(format!("{from} → {to}")))
            .await?;
        tx.commit().await?;
        Ok(row.person_id)
    }

    /// Concludes (positively) or interrupts; whatever is still committed is released for others.
    pub async fn conclude(&self, actor: &Actor, id: i64, form: &ConclusionForm) -> Result<i64> {
        policy::require(actor, Permission::ManageInterventions)?;
        let mut tx = self.store().write().await?;
        let row = locked_intervention(&mut tx, actor, id).await?;
        let from = status_of(&row)?;
        let c = form.validate(row.actual_start, today())?;
        let transition = match c.outcome {
            Outcome::Positive(_) => Transition::Conclude,
            Outcome::Interrupted { .. } => Transition::Interrupt,
        };
        let to = from.apply(transition).ok_or_else(|| illegal(from, transition))?;
        let money = tx.intervention_money(id).await?;
        if money.outstanding() > 0 {
            tx.insert_ledger(
                row.programme_id,
                row.organisation_id,
                id,
                "release",
                money.outstanding(),
                None,
                actor.user_id,
            )
            .await?;
        }
        tx.set_conclusion(id, from.code(), to.code(), &c).await?;
        tx.insert_event(
            id,
            transition.code(),
            Some(from.code()),
            to.code(),
            c.end_date,
            None,
            actor.user_id,
            actor.organisation_id,
        )
        .await?;
        let detail = format!("{from} → {to}, liberati {} cent", money.outstanding());
        record(&mut tx, actor, "update", "intervention", Some(id), "conclusione dell'intervento", Some(detail)).await?;
        tx.commit().await?;
        Ok(row.person_id)
    }

    /// A monthly payment: at most the monthly amount, within the intervention's months, once a month.
    pub async fn record_payment(&self, actor: &Actor, id: i64, form: &PaymentForm) -> Result<i64> {
        policy::require(actor, Permission::RecordPayments)?;
        let p = form.validate()?;
        let mut tx = self.store().write().await?;
        let row = locked_intervention(&mut tx, actor, id).await?;
        if !status_of(&row)?.is_running() {
            return Err(ServiceError::Conflict("err-payment-not-running"));
        }
        let first = row.actual_start.unwrap_or(row.planned_start).format("%Y-%m").to_string();
        let last = row.planned_end.format("%Y-%m").to_string();
        if p.month < first || p.month > last {
            let e = FieldError::new("month", "err-month-outside").arg("first", first).arg("last", last);
            return Err(Invalid(vec![e]).into());
        }
        if p.amount_cents > row.monthly_amount_cents {
            let e = FieldError::new("amount", "err-payment-above-monthly")
                .arg("amount", percorsi_domain::money::format_euros(row.monthly_amount_cents));
            return Err(Invalid(vec![e]).into());
        }
        tx.intervention_money(id).await?.check_payment(p.amount_cents).map_err(ServiceError::Refused)?;
        tx.insert_ledger(
            row.programme_id,
            row.organisation_id,
            id,
            "pay",
            p.amount_cents,
            Some(&p.month),
            actor.user_id,
        )
        .await
        .map_err(|e| match e {
            percorsi_store::StoreError::Duplicate => {
                ServiceError::Refused(Invalid::one("month", "err-payment-month-exists"))
            }
            other => other.into(),
        })?;
        record(
            &mut tx,
            actor,
            "create",
            "payment",
            Some(id),
            "erogazione mensile",
            Some(format!("{} {} cent", p.month, p.amount_cents)),
        )
        .await?;
        tx.commit().await?;
        Ok(row.person_id)
    }

    /// Relapses and substance use during the intervention.
    pub async fn record_monitoring(&self, actor: &Actor, id: i64, form: &MonitoringForm) -> Result<i64> {
        policy::require(actor, Permission::ManageInterventions)?;
        let m = form.validate()?;
        let mut tx = self.store().write().await?;
        let row = own_intervention(&mut tx, actor, id).await?;
        // The count includes the dated relapses: it cannot say fewer than were recorded.
        let events = tx.relapse_events(id).await?;
        if events > 0 && m.relapse_count.is_none_or(|n| n < events) {
            return Err(Invalid(vec![
                FieldError::new("relapse_count", "err-relapses-below-events").arg("count", events.to_string())
            ])
            .into());
        }
        tx.set_monitoring(id, &m).await?;
        record(&mut tx, actor, "update", "intervention", Some(id), "monitoraggio ricadute e sostanze", None).await?;
        tx.commit().await?;
        Ok(row.person_id)
    }

    /// Records a relapse as a dated event of a running or ended intervention of the actor's
    /// organisation; it adds one to the intervention's relapse count.
    pub async fn record_relapse(&self, actor: &Actor, id: i64, form: &RelapseForm) -> Result<i64> {
        policy::require(actor, Permission::ManageInterventions)?;
        let mut tx = self.store().write().await?;
        let row = own_intervention(&mut tx, actor, id).await?;
        let r = form.validate(row.actual_start, today())?;
        let relapse = tx.insert_relapse(id, row.person_id, row.organisation_id, &r, actor.user_id).await?;
        record(
            &mut tx,
            actor,
            "create",
            "relapse",
            Some(relapse),
            "ricaduta registrata",
            Some(format!("intervention {id}")),
        )
        .await?;
        tx.commit().await?;
        Ok(row.person_id)
    }

    /// Monthly attendance, by the case manager or the intervention's tutor.
    pub async fn record_attendance(&self, actor: &Actor, id: i64, form: &AttendanceForm) -> Result<()> {
        policy::require(actor, Permission::TutorInterventions)
            .or_else(|_| policy::require(actor, Permission::ManageInterventions))?;
        let a = form.validate()?;
        let mut tx = self.store().write().await?;
        let (start, end, status) = if allows(actor.role, Permission::TutorInterventions) {
            let t = tx
                .tutored(actor.user_id, actor.organisation_id, Some(id))
                .await?
                .into_iter()
                .next()
                .ok_or(ServiceError::NotFound)?;
            (t.actual_start, t.actual_end.unwrap_or(t.planned_end), t.status)
        } else {
            policy::require(actor, Permission::ManageInterventions)?;
            let r = own_intervention(&mut tx, actor, id).await?;
            (r.actual_start, r.actual_end.unwrap_or(r.planned_end), r.status)
        };
        // Attendance is of months the intervention ran: from its start to its end (or today),
        // never of a month to come, never before it started.
        let Some(start) = start else {
            return Err(ServiceError::Refused(Invalid::one("month", "err-attendance-not-started")));
        };
        let last =
            if InterventionStatus::parse(&status).is_some_and(|s| s.is_closed()) { end } else { end.min(today()) };
        let (first, last) = (start.format("%Y-%m").to_string(), last.format("%Y-%m").to_string());
        if a.month < first || a.month > last {
            let e = FieldError::new("month", "err-month-outside").arg("first", first).arg("last", last);
            return Err(Invalid(vec![e]).into());
        }
        tx.upsert_attendance(id, &a, actor.user_id).await?;
        record(&mut tx, actor, "update", "intervention", Some(id), "presenze", Some(a.month.clone())).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The intervention page (roles that see person records). Audited.
    pub async fn intervention(&self, actor: &Actor, id: i64) -> Result<InterventionDetail> {
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        let mut row = tx.intervention_visible(&actor.scope(), id).await?.ok_or(ServiceError::NotFound)?;
        let access = policy::person_access(&mut tx, actor, row.person_id).await?;
        if !access.shows_row_of(row.organisation_id, DataCategory::Intervention) {
            return Err(ServiceError::NotFound);
        }
        // Relapses and substance use are their own kinds of data: another organisation sees them
        // only when the person's consent opens them (a work insertion's does not).
        let relapses_shown = access.shows_row_of(row.organisation_id, DataCategory::Relapses);
        if !relapses_shown {
            row.relapse_count = None;
        }
        if !access.shows_row_of(row.organisation_id, DataCategory::Health) {
            (row.legal_substance_use, row.illegal_substance_use) = (None, None);
            // Why an intervention was interrupted can itself be health data.
            let health_reason = |r: &str| {
                matches!(
                    InterruptionReason::parse(r),
                    Some(InterruptionReason::RicadutaDipendenza | InterruptionReason::AggravamentoSalute)
                )
            };
            if row.interruption_reason.as_deref().is_some_and(health_reason) {
                (row.interruption_reason, row.interruption_text) = (None, None);
            }
        }
        // The forms hold scores about health and autonomy: another organisation sees them only
        // when the person's consent opens assessments.
        let forms_shown = access.shows_row_of(row.organisation_id, DataCategory::Assessments);
        let events = tx.events(id).await?;
        let relapses = if relapses_shown { tx.relapses_of(id).await? } else { Vec::new() };
        let payments = tx.payments(id).await?;
        let attendance = tx.attendance(id).await?;
        let money = tx.intervention_money(id).await?;
        let mut forms = Vec::new();
        let mut autonomy: [Option<i64>; 2] = [None, None];
        let mut threshold = None;
        let filled = if forms_shown { tx.assessments_of(id).await? } else { Vec::new() };
        for a in filled {
            let instrument = instruments::by_id(&mut tx, a.instrument_id).await?;
            let answers = answers_of(&a.answers)?;
            let kind = instrument.kind;
            match kind {
                AssessmentKind::PreIntervento => autonomy[0] = instrument.autonomy_score(&answers),
                AssessmentKind::PostIntervento => autonomy[1] = instrument.autonomy_score(&answers),
                _ => {}
            }
            threshold = threshold.or(instrument.autonomy_threshold);
            forms.push(FilledForm {
                kind,
                instrument_code: instrument.code.clone(),
                instrument_version: instrument.version,
                assessed_on: a.assessed_on,
                author_name: a.author_name,
                scores: instrument.score(&answers),
            });
        }
        tx.commit().await?;
        self.record_person_read(actor, row.person_id, "intervention", Some(id), "consultazione intervento").await?;
        let status = status_of(&row)?;
        let own = row.organisation_id == actor.organisation_id;
        let can_manage = own && allows(actor.role, Permission::ManageInterventions);
        let transitions = if can_manage {
            [Transition::Activate, Transition::Suspend, Transition::Resume, Transition::Prolong]
                .into_iter()
                .filter(|t| status.apply(*t).is_some())
                .collect()
        } else {
            Vec::new()
        };
        Ok(InterventionDetail {
            outstanding: money.outstanding(),
            autonomy_change: autonomy_change(autonomy[0], autonomy[1], threshold.unwrap_or(1)),
            can_pay: own && allows(actor.role, Permission::RecordPayments) && status.is_running(),
            can_manage,
            transitions,
            intervention: row,
            events,
            relapses,
            payments,
            attendance,
            money,
            forms,
        })
    }

    /// A person's interventions (shown on the pathway page).
    pub async fn interventions_of_person(&self, actor: &Actor, person_id: i64) -> Result<Vec<InterventionSummary>> {
        let mut tx = self.store().read().await?;
        let access = policy::person_access(&mut tx, actor, person_id).await?;
        let owners = access.owners(DataCategory::Intervention);
        let rows = tx.interventions_of_person(&actor.scope(), person_id, owners).await?;
        tx.commit().await?;
        self.record_person_read(actor, person_id, "intervention_list", None, "interventi della persona").await?;
        Ok(rows)
    }

    /// The case manager's "what is due": proposals to activate, forms to fill, interventions
    /// ending within 30 days or past their planned end.
    pub async fn due(&self, actor: &Actor) -> Result<Vec<DueItem>> {
        policy::require(actor, Permission::ManageInterventions)?;
        let mut tx = self.store().read().await?;
        let rows = tx.interventions_of_organisation(&actor.scope(), 2000).await?;
        tx.commit().await?;
        let named = rows.iter().filter(|r| r.surname.is_some()).count();
        if named > 0 {
            self.record_read(actor, "intervention_list", None, "scadenze", Some(format!("{named} interventi"))).await?;
        }
        Ok(due_items(rows, today()))
    }

    /// How many of the organisation's interventions need something (the e-mail digest: a
    /// count, no names, so no read of identities to audit).
    pub(crate) async fn due_count(&self, actor: &Actor) -> Result<i64> {
        policy::require(actor, Permission::ManageInterventions)?;
        let mut tx = self.store().read().await?;
        let rows = tx.interventions_of_organisation(&actor.scope(), 2000).await?;
        tx.commit().await?;
        Ok(due_items(rows, today()).len() as i64)
    }

    /// The coordinator's list: the organisation's interventions, pseudonymised.
    pub async fn organisation_interventions(&self, actor: &Actor) -> Result<Vec<InterventionSummary>> {
        policy::require(actor, Permission::ViewProgrammes)?;
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        let rows = tx.interventions_of_organisation(&actor.scope(), 2000).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The tutor's list: only the interventions they tutor at their organisation.
    pub async fn tutored(&self, actor: &Actor) -> Result<Vec<TutorInterventionRow>> {
        policy::require(actor, Permission::TutorInterventions)?;
        let mut tx = self.store().read().await?;
        let rows = tx.tutored(actor.user_id, actor.organisation_id, None).await?;
        tx.commit().await?;
        if !rows.is_empty() {
            self.record_read(
                actor,
                "intervention_list",
                None,
                "interventi seguiti come tutor",
                Some(format!("{} interventi", rows.len())),
            )
            .await?;
        }
        Ok(rows)
    }

    pub async fn tutor_detail(&self, actor: &Actor, id: i64) -> Result<TutorDetail> {
        policy::require(actor, Permission::TutorInterventions)?;
        let mut tx = self.store().read().await?;
        let row = tx
            .tutored(actor.user_id, actor.organisation_id, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or(ServiceError::NotFound)?;
        let attendance = tx.attendance(id).await?;
        let mut observations = Vec::new();
        if let Some(a) =
            tx.assessments_of(id).await?.into_iter().find(|a| a.kind == AssessmentKind::PostIntervento.code())
        {
            let instrument = instruments::by_id(&mut tx, a.instrument_id).await?;
            let answers = answers_of(&a.answers)?;
            let tutor_sections: Vec<&str> =
                instrument.sections.iter().filter(|s| s.tutor).map(|s| s.code.as_str()).collect();
            observations = instrument
                .score(&answers)
                .into_iter()
                .filter(|s| tutor_sections.contains(&s.section.as_str()))
                .collect();
        }
        let person = tx.intervention_person_for_audit(id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        self.record_person_read(actor, person, "intervention", Some(id), "consultazione come tutor").await?;
        Ok(TutorDetail { intervention: row, attendance, observations })
    }

    /// The form of a kind for an intervention, with what the actor may fill.
    pub async fn form(&self, actor: &Actor, id: i64, kind: AssessmentKind) -> Result<FormView> {
        let mut tx = self.store().read().await?;
        let access = form_access(&mut tx, actor, id, kind).await?;
        let existing = tx.assessments_of(id).await?.into_iter().find(|a| a.kind == kind.code());
        let (instrument, answers, assessed_on) = match &existing {
            Some(a) => {
                (instruments::by_id(&mut tx, a.instrument_id).await?, answers_of(&a.answers)?, Some(a.assessed_on))
            }
            None => (instruments::latest(&mut tx, kind).await?.1, BTreeMap::new(), None),
        };
        let person = tx.intervention_person_for_audit(id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        if existing.is_some() {
            self.record_person_read(actor, person, "assessment", Some(id), "consultazione scheda").await?;
        }
        // Tutors see only their sections; case managers see all and fill their own.
        let visible = |s: &percorsi_domain::instrument::Section| !access.tutor || s.tutor;
        let mut shown = instrument.clone();
        shown.sections.retain(|s| visible(s));
        let answers: BTreeMap<String, i64> =
            answers.into_iter().filter(|(k, _)| shown.section_of(k).is_some()).collect();
        let scores = shown.score(&answers);
        Ok(FormView {
            editable_sections: shown.sections.iter().filter(|s| access.fills(s)).map(|s| s.code.clone()).collect(),
            instrument: shown,
            answers,
            assessed_on,
            scores,
        })
    }

    /// Saves a filled form. Tutors fill only the tutor sections of the post form; what others
    /// answered is kept. Substance answers of the post form update the intervention's monitoring.
    pub async fn fill_form(
        &self,
        actor: &Actor,
        id: i64,
        kind: AssessmentKind,
        assessed_on: &str,
        raw: &BTreeMap<String, String>,
    ) -> Result<Vec<SectionScore>> {
        let mut c = percorsi_domain::validation::Checker::new();
        let day = c.required_date("assessed_on", assessed_on);
        if day.is_some_and(|d| d > today()) {
            c.fail("assessed_on", "err-date-in-future");
        }
        c.finish(|| ())?;
        let day = day.unwrap_or_else(today);
        let mut tx = self.store().write().await?;
        let access = form_access(&mut tx, actor, id, kind).await?;
        let existing = tx.assessments_of(id).await?.into_iter().find(|a| a.kind == kind.code());
        let (instrument_id, instrument, mut answers) = match &existing {
            Some(a) => (a.instrument_id, instruments::by_id(&mut tx, a.instrument_id).await?, answers_of(&a.answers)?),
            None => {
                let (iid, i) = instruments::latest(&mut tx, kind).await?;
                (iid, i, BTreeMap::new())
            }
        };
        let may_fill = |s: &percorsi_domain::instrument::Section| access.fills(s);
        let submitted = instrument.parse_answers(raw, may_fill)?;
        // The author's sections are replaced by what was submitted (blank clears); others stay.
        for s in instrument.sections.iter().filter(|s| may_fill(s)) {
            for item in &s.items {
                answers.remove(&item.code);
            }
        }
        answers.extend(submitted);
        let scores = instrument.score(&answers);
        let answers_json = crate::to_json(&answers)?;
        let scores_json = crate::to_json(&scores)?;
        tx.upsert_assessment(&AssessmentWrite {
            intervention_id: id,
            instrument_id,
            kind: kind.code(),
            assessed_on: day,
            answers: &answers_json,
            scores: &scores_json,
            author_id: actor.user_id,
            author_org: actor.organisation_id,
        })
        .await?;
        if kind == AssessmentKind::PostIntervento && !access.tutor {
            let used = |code: &str| answers.get(code).map(|v| *v == 0);
            if let Some(row) = tx.intervention_visible(&actor.scope(), id).await? {
                let m = Monitoring {
                    relapse_count: row.relapse_count,
                    legal_substance_use: used("uso_sostanze_legali"),
                    illegal_substance_use: used("uso_sostanze_illegali"),
                };
                tx.set_monitoring(id, &m).await?;
            }
        }
        record(
            &mut tx,
            actor,
            "update",
            "assessment",
            Some(id),
            "compilazione scheda",
            Some(format!("{} v{}", instrument.code, instrument.version)),
        )
        .await?;
        tx.commit().await?;
        Ok(scores)
    }
}

/// How the actor opens an intervention's form: as its tutor, or as its case manager (and then
/// whether the intervention has a tutor).
struct FormAccess {
    tutor: bool,
    has_tutor: bool,
}

impl FormAccess {
    /// Who fills which section: the tutor their observations; the case manager the rest, and the
    /// observations too only when the intervention has no tutor, so that nothing a tutor wrote
    /// is ever overwritten by another author.
    fn fills(&self, s: &percorsi_domain::instrument::Section) -> bool {
        if self.tutor {
            s.tutor
        } else {
            !s.tutor || !self.has_tutor
        }
    }
}

/// Who may open a form: the managing case manager (any form) or the tutor (post form).
async fn form_access<M: Mode>(tx: &mut Tx<M>, actor: &Actor, id: i64, kind: AssessmentKind) -> Result<FormAccess> {
    if allows(actor.role, Permission::TutorInterventions) {
        if kind != AssessmentKind::PostIntervento {
            return Err(ServiceError::Forbidden);
        }
        tx.tutored(actor.user_id, actor.organisation_id, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or(ServiceError::NotFound)?;
        return Ok(FormAccess { tutor: true, has_tutor: true });
    }
    policy::require(actor, Permission::ManageInterventions)?;
    let row = own_intervention(tx, actor, id).await?;
    Ok(FormAccess { tutor: false, has_tutor: row.tutor_id.is_some() })
}

/// An intervention of the actor's organisation whose person the actor sees.
async fn own_intervention<M: Mode>(tx: &mut Tx<M>, actor: &Actor, id: i64) -> Result<InterventionRow> {
    let row = tx.intervention_visible(&actor.scope(), id).await?.ok_or(ServiceError::NotFound)?;
    if row.organisation_id != actor.organisation_id {
        return Err(ServiceError::Forbidden);
    }
    Ok(row)
}

/// An intervention of the actor's organisation, read under the lock of its programme's
/// budget. Every change to the money of a programme takes that lock first, so activations,
/// prolongations, payments and conclusions of one programme happen one after the other on
/// every engine and app server, and each sees what the previous one committed.
async fn locked_intervention(tx: &mut Tx, actor: &Actor, id: i64) -> Result<InterventionRow> {
    let row = own_intervention(tx, actor, id).await?;
    tx.lock_programme(row.programme_id).await?;
    own_intervention(tx, actor, id).await
}

/// Commits money for an intervention, refusing to overspend the organisation's budget.
async fn commit(tx: &mut Tx, actor: &Actor, row: &InterventionRow, amount: i64) -> Result<()> {
    if amount <= 0 {
        return Ok(());
    }
    let balance = tx.organisation_balance(row.programme_id, row.organisation_id).await?;
    balance.check_commit(amount).map_err(ServiceError::Refused)?;
    tx.insert_ledger(row.programme_id, row.organisation_id, row.id, "commit", amount, None, actor.user_id).await?;
    Ok(())
}

fn answers_of(json: &str) -> Result<BTreeMap<String, i64>> {
    serde_json::from_str(json).map_err(|e| ServiceError::Broken(format!("stored answers: {e}")))
}

fn illegal(from: InterventionStatus, t: Transition) -> ServiceError {
    ServiceError::Refused(Invalid(vec![FieldError::new("transition", "err-illegal-transition")
        .arg("from", from.code())
        .arg("transition", t.code())]))
}

/// What needs doing, most urgent first.
pub fn due_items(rows: Vec<InterventionSummary>, today: NaiveDate) -> Vec<DueItem> {
    let mut out = Vec::new();
    for r in rows {
        let status = InterventionStatus::parse(&r.status);
        let reason = match status {
            Some(InterventionStatus::Proposto) => Some("due-activate"),
            Some(s) if s.is_running() && r.planned_end < today => Some("due-overdue"),
            Some(s) if s.is_running() && !r.has_pre => Some("due-pre-form"),
            Some(s) if s.is_running() && r.planned_end <= today + Duration::days(30) => Some("due-ending"),
            Some(s) if s.is_closed() && !r.has_post => Some("due-post-form"),
            _ => None,
        };
        if let Some(reason) = reason {
            out.push(DueItem { intervention: r, reason });
        }
    }
    let rank = |k: &str| {
        ["due-overdue", "due-ending", "due-pre-form", "due-post-form", "due-activate"]
            .iter()
            .position(|x| *x == k)
            .unwrap_or(9)
    };
    out.sort_by_key(|d| (rank(d.reason), d.intervention.planned_end));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: &str, end: &str, pre: bool, post: bool) -> InterventionSummary {
        InterventionSummary {
            id: 1,
            person_id: 1,
            organisation_id: 1,
            person_code: "X".into(),
            surname: None,
            name: None,
            programme_name: "P".into(),
            intervention_type: "inserimento_lavorativo".into(),
            host_name: "H".into(),
            status: status.into(),
            planned_start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            planned_end: NaiveDate::parse_from_str(end, "%Y-%m-%d").unwrap(),
            actual_start: None,
            has_pre: pre,
            has_post: post,
        }
    }

    #[test]
    fn due_list_reasons_and_order() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let items = due_items(
            vec![
                row("proposto", "2027-06-30", false, false),
                row("attivo", "2027-06-30", false, false),
                row("attivo", "2026-12-10", true, false),
                row("sospeso", "2026-11-01", true, false),
                row("concluso", "2026-10-01", true, false),
                row("concluso", "2026-10-01", true, true),
                row("attivo", "2027-06-30", true, false),
            ],
            today,
        );
        let reasons: Vec<&str> = items.iter().map(|d| d.reason).collect();
        assert_eq!(reasons, vec!["due-overdue", "due-ending", "due-pre-form", "due-post-form", "due-activate"]);
    }
}
