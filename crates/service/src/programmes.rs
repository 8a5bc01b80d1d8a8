//! Programmes: planning (coordinator) and the overview every participant reads.

use crate::audit::record;
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use percorsi_domain::ledger::Balance;
use percorsi_domain::programme::{default_rules, InterventionType, ParticipationForm, ProgrammeForm, RuleForm};
use percorsi_domain::{FieldError, Invalid};
use percorsi_store::{ParticipantRow, ProgrammeRow, QuotaRow, RuleRow};
use serde::Serialize;

/// A count of interventions as the viewer may see it: exact for the organisation's own people
/// (and those it manages), otherwise through the disclosure control of the reports (ADR 0014).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Shown {
    Count(i64),
    /// 1–4: shown as "<5".
    Small(&'static str),
}

impl Shown {
    fn of(n: i64, exact: bool, key: impl FnOnce() -> u32) -> Shown {
        use percorsi_domain::report::grid::{protect_count, Cell};
        if exact {
            return Shown::Count(n);
        }
        match protect_count(n.max(0) as u64, key()) {
            Cell::Count(v) => Shown::Count(v as i64),
            _ => Shown::Small("<5"),
        }
    }
}

/// One intervention type of a participant: planned (a plan, always exact), activated, ended.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuotaView {
    pub intervention_type: String,
    pub planned: i64,
    pub activated: Shown,
    pub ended: Shown,
}

/// One participant's line on the programme page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParticipantOverview {
    pub participant: ParticipantRow,
    pub balance: Balance,
    pub outstanding: i64,
    pub available: i64,
    pub quotas: Vec<QuotaView>,
    pub planned: i64,
    pub activated: Shown,
    pub concluded: Shown,
    /// Whether the viewer sees this organisation's exact counts.
    pub exact: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProgrammeOverview {
    pub programme: ProgrammeRow,
    pub rules: Vec<RuleRow>,
    pub rule_history: Vec<RuleRow>,
    pub participants: Vec<ParticipantOverview>,
    pub total: Balance,
    pub total_outstanding: i64,
    pub total_available: i64,
    /// Whether outstanding + paid + available = budget for every participant and in total.
    pub balanced: bool,
    /// Whether the actor may change this programme (a coordinator of its organisation).
    pub can_manage: bool,
}

impl Service {
    pub async fn programmes(&self, actor: &Actor) -> Result<Vec<ProgrammeRow>> {
        policy::require(actor, Permission::ViewProgrammes)
            .or_else(|_| policy::require(actor, Permission::TutorInterventions))?;
        let mut tx = self.store().read().await?;
        let rows = tx.programmes().await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Creates a programme with the seed's default rules as version 1 of each type.
    pub async fn create_programme(&self, actor: &Actor, form: &ProgrammeForm) -> Result<i64> {
        policy::require(actor, Permission::ManageProgrammes)?;
        let p = form.validate()?;
        let mut tx = self.store().write().await?;
        let id = tx.insert_programme(&p, actor.organisation_id).await.map_err(|e| duplicate_as(e, "name"))?;
        for rule in default_rules() {
            tx.insert_rule(id, &rule, Some(actor.user_id)).await?;
        }
        record(&mut tx, actor, "create", "programme", Some(id), "programmazione", Some(p.name.clone())).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn update_programme(&self, actor: &Actor, id: i64, form: &ProgrammeForm) -> Result<()> {
        policy::require(actor, Permission::ManageProgrammes)?;
        let p = form.validate()?;
        let mut tx = self.store().write().await?;
        policy::programme_to_manage(&mut tx, actor, id).await?;
        tx.update_programme(id, &p).await.map_err(|e| duplicate_as(e, "name"))?;
        record(&mut tx, actor, "update", "programme", Some(id), "programmazione", Some(p.name.clone())).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a rule by adding a new version; running interventions keep theirs.
    pub async fn change_rule(&self, actor: &Actor, programme_id: i64, form: &RuleForm) -> Result<i64> {
        policy::require(actor, Permission::ManageProgrammes)?;
        let rule = form.validate()?;
        let mut tx = self.store().write().await?;
        policy::programme_to_manage(&mut tx, actor, programme_id).await?;
        let id = tx.insert_rule(programme_id, &rule, Some(actor.user_id)).await?;
        let detail = format!(
            "{} {}–{} mesi, {} cent ({})",
            rule.intervention_type, rule.min_months, rule.max_months, rule.amount_cents, rule.amount_kind
        );
        record(&mut tx, actor, "update", "programme_rule", Some(id), "nuova versione della regola", Some(detail))
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Sets an organisation's budget and planned interventions. A budget below what is already
    /// committed or paid is refused.
    pub async fn set_participation(&self, actor: &Actor, programme_id: i64, form: &ParticipationForm) -> Result<()> {
        policy::require(actor, Permission::ManageProgrammes)?;
        let p = form.validate()?;
        let mut tx = self.store().write().await?;
        policy::programme_to_manage(&mut tx, actor, programme_id).await?;
        tx.lock_programme(programme_id).await?;
        tx.organisation(p.organisation_id)
            .await?
            .ok_or_else(|| Invalid::one("organisation_id", "err-unknown-choice"))?;
        let used = tx.organisation_balance(programme_id, p.organisation_id).await?;
        let in_use = used.outstanding() + used.paid;
        if p.budget_cents < in_use {
            return Err(ServiceError::Refused(Invalid(vec![FieldError::new("budget", "err-budget-below-used")
                .arg("used", percorsi_domain::money::format_euros(in_use))])));
        }
        tx.upsert_participant(programme_id, p.organisation_id, p.budget_cents).await?;
        for (t, n) in &p.planned {
            tx.upsert_quota(programme_id, p.organisation_id, t.code(), *n).await?;
        }
        let detail = format!("org {} budget {} cent", p.organisation_id, p.budget_cents);
        record(&mut tx, actor, "update", "programme", Some(programme_id), "budget e interventi previsti", Some(detail))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn programme_overview(&self, actor: &Actor, id: i64) -> Result<ProgrammeOverview> {
        policy::require(actor, Permission::ViewProgrammes)?;
        let mut tx = self.store().read().await?;
        let programme = tx.programme(id).await?.ok_or(ServiceError::NotFound)?;
        let rules = tx.current_rules(id).await?;
        let rule_history = tx.rule_history(id).await?;
        let participants = tx.participants(id).await?;
        let balances = tx.balances(id).await?;
        let quotas = tx.quotas(id).await?;
        let can_manage = match policy::programme_to_manage(&mut tx, actor, id).await {
            Ok(_) => true,
            Err(ServiceError::Forbidden) => false,
            Err(e) => return Err(e),
        };
        let orgs = tx.organisations().await?;
        tx.commit().await?;
        // Exact counts for the viewer's own organisation and those under it (with the right to
        // exact figures); everyone else sees them protected like the reports.
        let own = policy::allows(actor.role, Permission::OwnExactFigures)
            .then(|| policy::organisation_and_below(&orgs, actor.organisation_id));
        let protection = self.protection();
        let mut total = Balance::default();
        let mut balanced = true;
        let participants = participants
            .into_iter()
            .map(|p| {
                let balance =
                    balances.iter().find(|(o, _)| *o == p.organisation_id).map(|(_, b)| *b).unwrap_or_default();
                balanced &= balance.balances();
                total.add(&balance);
                let mine: Vec<QuotaRow> = InterventionType::ALL
                    .iter()
                    .map(|t| {
                        quotas
                            .iter()
                            .find(|q| q.organisation_id == p.organisation_id && q.intervention_type == t.code())
                            .cloned()
                            .unwrap_or(QuotaRow {
                                organisation_id: p.organisation_id,
                                intervention_type: t.code().to_string(),
                                ..Default::default()
                            })
                    })
                    .collect();
                let exact = own.as_ref().is_some_and(|o| o.contains(&p.organisation_id));
                let cell = |what: &str| format!("programme-{id}-org-{}-{what}", p.organisation_id);
                let shown = |n: i64, what: String| Shown::of(n, exact, || protection.cell_key(&cell(&what), "count"));
                let quotas = mine
                    .iter()
                    .map(|q| QuotaView {
                        intervention_type: q.intervention_type.clone(),
                        planned: q.planned,
                        activated: shown(q.activated, format!("{}-activated", q.intervention_type)),
                        ended: shown(q.concluded + q.interrupted, format!("{}-ended", q.intervention_type)),
                    })
                    .collect();
                ParticipantOverview {
                    outstanding: balance.outstanding(),
                    available: balance.available(),
                    planned: mine.iter().map(|q| q.planned).sum(),
                    activated: shown(mine.iter().map(|q| q.activated).sum(), "activated".into()),
                    concluded: shown(mine.iter().map(|q| q.concluded + q.interrupted).sum(), "ended".into()),
                    exact,
                    balance,
                    quotas,
                    participant: p,
                }
            })
            .collect();
        balanced &= total.balances();
        Ok(ProgrammeOverview {
            programme,
            rules,
            rule_history,
            participants,
            total_outstanding: total.outstanding(),
            total_available: total.available(),
            total,
            balanced,
            can_manage,
        })
    }
}

impl Service {
    /// The budgets of every programme summed per funding source: allocated, committed and not
    /// yet paid, paid, available. Money is public accountability and is shown exactly.
    pub async fn budget_by_funding_source(&self, actor: &Actor) -> Result<percorsi_domain::report::Grid> {
        use percorsi_domain::report::{Cell, Grid, Label, Line, Percent, Role};
        policy::require(actor, Permission::ViewProgrammes)?;
        let mut tx = self.store().read().await?;
        let programmes = tx.programmes().await?;
        let mut by_source: std::collections::BTreeMap<String, Balance> = std::collections::BTreeMap::new();
        for p in &programmes {
            let source = p.funding_source.clone().filter(|s| !s.trim().is_empty()).unwrap_or_default();
            let programme = tx.programme_total(p.id).await?;
            by_source.entry(source).or_default().add(&programme);
        }
        tx.commit().await?;
        let mut rows: Vec<Line> = by_source
            .keys()
            .map(|s| match s.as_str() {
                "" => Line::new("non_indicata", Label::msg("programmes-source-unknown"), Role::Category),
                named => Line::new(named, Label::text(named), Role::Category),
            })
            .collect();
        rows.push(Line::new("totale", Label::msg("report-total"), Role::Total));
        let cols = ["budget", "committed", "paid", "available"]
            .map(|c| Line::new(c, Label::msg(format!("programmes-money-{c}")), Role::Fixed))
            .to_vec();
        let mut g = Grid::new(None, Label::msg("field-funding_source"), rows, cols, Percent::None);
        let mut sum = Balance::default();
        for (r, b) in by_source.values().enumerate() {
            sum.add(b);
            for (c, v) in [b.budget, b.outstanding(), b.paid, b.available()].into_iter().enumerate() {
                g.cells[r][c] = Cell::Money(v);
            }
        }
        let t = g.rows.len() - 1;
        for (c, v) in [sum.budget, sum.outstanding(), sum.paid, sum.available()].into_iter().enumerate() {
            g.cells[t][c] = Cell::Money(v);
        }
        Ok(g)
    }
}

fn duplicate_as(e: percorsi_store::StoreError, field: &'static str) -> ServiceError {
    match e {
        percorsi_store::StoreError::Duplicate => Invalid::one(field, "err-duplicate").into(),
        other => other.into(),
    }
}
