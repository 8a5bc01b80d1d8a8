//! Outcome reports (seed 001's fourteen tables) for any programme, period and set of
//! organisations. Reports are computed from the reporting extract kept in memory and refreshed
//! by revision, so a report over a million interventions is a scan of compact structs, not of
//! the database. Who sees exact numbers and who sees suppressed ones is decided here.

use crate::policy::{self, Permission};
use crate::{Actor, Result, Service};
use chrono::Datelike;
use hmac::{Hmac, Mac};
use percorsi_domain::codes::OrganisationKind;
use percorsi_domain::programme::InterventionType;
use percorsi_domain::report::grid::Protection;
use percorsi_domain::report::{self, Budget, Ending, Fact, Filter, GroupBy, Report, Unit};
use percorsi_domain::validation::Checker;
use percorsi_domain::Invalid;
use percorsi_store::ProgrammeRow;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashMap;

/// Filters as they arrive from a form, the API or the command line.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(default)]
pub struct ReportQuery {
    pub programme_id: String,
    /// First start date included, `YYYY-MM-DD`.
    pub from: String,
    /// Last start date included, `YYYY-MM-DD`.
    pub to: String,
    /// Organisation ids, comma separated; empty for all.
    pub organisations: String,
    pub organisation_kind: String,
    pub intervention_type: String,
    /// `kind` (default) or `organisation`: the columns of the tables by organisation kind.
    pub by: String,
    /// Only this table (1–14); empty for all.
    pub table: String,
}

#[derive(Debug, Clone)]
pub struct ValidQuery {
    pub programme_id: i64,
    pub filter: Filter,
    pub by: GroupBy,
    pub only: Option<u8>,
}

impl ReportQuery {
    pub fn validate(&self) -> std::result::Result<ValidQuery, Invalid> {
        let mut c = Checker::new();
        let programme_id = match self.programme_id.trim().parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                c.fail(
                    "programme_id",
                    if self.programme_id.trim().is_empty() { "err-required" } else { "err-not-found" },
                );
                None
            }
        };
        let from = c.optional_date("from", Some(&self.from));
        let to = c.optional_date("to", Some(&self.to));
        c.date_order("to", from, to);
        let mut organisations = Vec::new();
        for part in self.organisations.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.parse::<i64>() {
                Ok(id) => organisations.push(id),
                Err(_) => {
                    c.push(percorsi_domain::FieldError::new("organisations", "err-unknown-code").arg("value", part))
                }
            }
        }
        let kind = c.optional_code("organisation_kind", Some(&self.organisation_kind), OrganisationKind::parse);
        let intervention_type =
            c.optional_code("intervention_type", Some(&self.intervention_type), InterventionType::parse);
        let by = match self.by.trim() {
            "" | "kind" => GroupBy::Kind,
            "organisation" => GroupBy::Organisation,
            v => {
                c.push(percorsi_domain::FieldError::new("by", "err-unknown-code").arg("value", v));
                GroupBy::Kind
            }
        };
        let only = match self.table.trim() {
            "" => None,
            t => match t.parse::<u8>() {
                Ok(n) if (1..=report::TABLES).contains(&n) => Some(n),
                _ => {
                    c.push(percorsi_domain::FieldError::new("table", "err-unknown-code").arg("value", t));
                    None
                }
            },
        };
        c.finish(|| ValidQuery {
            programme_id: programme_id.unwrap_or_default(),
            filter: Filter { from, to, organisations, kind, intervention_type },
            by,
            only,
        })
    }
}

/// A computed report with what the page needs around it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub programme: ProgrammeRow,
    pub report: Report,
    /// Organisations the viewer may filter on.
    pub units: Vec<Unit>,
    pub query: ReportQuery,
}

/// One table compared across programmes, or across the years of one programme.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(default)]
pub struct CompareQuery {
    /// Programme ids, comma separated: one column each (up to six).
    pub programmes: String,
    /// `programme` (default): a column per programme; `year`: one programme, a column per
    /// calendar year of its period (up to ten).
    pub periods: String,
    /// The table compared, 1–14.
    pub table: String,
    pub organisation_kind: String,
    pub intervention_type: String,
}

/// At most this many columns in a comparison.
const MAX_PERIODS: usize = 10;

/// Who is asking: a user (scoped by role) or the command line (the installation's operator).
pub enum Viewer<'a> {
    User(&'a Actor),
    System { suppress: bool },
}

/// Derives each record's secret key for disclosure control from the installation key.
#[derive(Clone)]
pub(crate) struct RecordKeys(Hmac<Sha256>);

impl RecordKeys {
    pub(crate) fn of(&self, intervention_id: i64) -> u8 {
        let mut mac = self.0.clone();
        mac.update(&intervention_id.to_be_bytes());
        mac.finalize().into_bytes()[0]
    }
}

impl Service {
    /// The secrets of the disclosure control (ADR 0014), derived from the installation key so
    /// that every app server perturbs every cell the same way and nobody without the key can.
    pub(crate) fn protection(&self) -> Protection {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.pseudonym_key).expect("HMAC takes any key");
        mac.update(b"percorsi disclosure control cells");
        let bytes = mac.finalize().into_bytes();
        let mut secret = [0u8; 8];
        secret.copy_from_slice(&bytes[..8]);
        Protection { secret: u64::from_be_bytes(secret) }
    }

    pub(crate) fn record_keys(&self) -> RecordKeys {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.pseudonym_key).expect("HMAC takes any key");
        mac.update(b"percorsi disclosure control records\0");
        RecordKeys(mac)
    }

    /// Whether this actor sees exact numbers (its own organisation's records) or suppressed ones.
    fn report_scope(&self, actor: &Actor) -> Result<(Option<i64>, bool)> {
        policy::require(actor, Permission::ViewReports)?;
        Ok(if policy::allows(actor.role, Permission::OwnExactFigures) {
            (Some(actor.organisation_id), false)
        } else {
            (None, true)
        })
    }

    pub async fn report(&self, actor: &Actor, q: &ReportQuery) -> Result<ReportView> {
        self.compute(Viewer::User(actor), q).await
    }

    /// A comparison leaving the system as a file: audited like a report export.
    pub async fn export_comparison(&self, actor: &Actor, q: &CompareQuery, format: &str) -> Result<ReportView> {
        let view = self.compare(actor, q).await?;
        let detail = format!("{format}; {}", serde_json::to_string(q).unwrap_or_default());
        let id = Some(view.programme.id);
        self.record_detached(actor, "export", "report", id, "esportazione confronto report", Some(detail)).await?;
        Ok(view)
    }

    /// One table side by side for several programmes or years, each column computed (and
    /// protected) exactly as that period's report, with the change from the first to the last.
    pub async fn compare(&self, actor: &Actor, q: &CompareQuery) -> Result<ReportView> {
        let mut c = Checker::new();
        let table = match q.table.trim().parse::<u8>() {
            Ok(n) if (1..=report::TABLES).contains(&n) => Some(n),
            _ => {
                c.fail("table", "err-table");
                None
            }
        };
        let ids: Vec<i64> =
            q.programmes.split(',').filter(|s| !s.trim().is_empty()).filter_map(|s| s.trim().parse().ok()).collect();
        let by_year = q.periods.trim() == "year";
        if ids.is_empty() || q.programmes.split(',').filter(|s| !s.trim().is_empty()).count() != ids.len() {
            c.fail("programmes", "err-required");
        } else if by_year && ids.len() != 1 {
            c.fail("periods", "err-compare-one-programme");
        } else if ids.len() > MAX_PERIODS {
            c.fail("programmes", "err-compare-too-many");
        }
        c.finish(|| ())?;
        let table = table.unwrap_or(1);
        let mut programmes = Vec::new();
        {
            let mut tx = self.store().read().await?;
            for id in &ids {
                programmes.push(tx.programme(*id).await?.ok_or_else(|| Invalid::one("programmes", "err-not-found"))?);
            }
            tx.commit().await?;
        }
        let base = ReportQuery {
            organisation_kind: q.organisation_kind.clone(),
            intervention_type: q.intervention_type.clone(),
            table: table.to_string(),
            ..Default::default()
        };
        let periods: Vec<(String, ReportQuery)> = if by_year {
            let p = &programmes[0];
            let years: Vec<i32> = (p.start_date.year()..=p.end_date.year()).collect();
            if years.len() > MAX_PERIODS {
                return Err(Invalid::one("periods", "err-compare-too-many").into());
            }
            years
                .into_iter()
                .map(|y| {
                    let q = ReportQuery {
                        programme_id: p.id.to_string(),
                        from: format!("{y}-01-01"),
                        to: format!("{y}-12-31"),
                        ..base.clone()
                    };
                    (y.to_string(), q)
                })
                .collect()
        } else {
            programmes
                .iter()
                .map(|p| (p.name.clone(), ReportQuery { programme_id: p.id.to_string(), ..base.clone() }))
                .collect()
        };
        let mut views = Vec::new();
        for (label, pq) in &periods {
            views.push((label.clone(), self.compute(Viewer::User(actor), pq).await?));
        }
        let tables: Vec<(report::Label, &report::Table)> = views
            .iter()
            .filter_map(|(label, v)| v.report.table(table).map(|t| (report::Label::text(label), t)))
            .collect();
        let code = format!("t{table:02}");
        let compared = report::compare::side_by_side(table, &code, &tables);
        let first = views.first().map(|(_, v)| v);
        let suppressed = first.is_some_and(|v| v.report.suppressed);
        let mut programme = programmes[0].clone();
        programme.name = periods.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join(" · ");
        Ok(ReportView {
            programme,
            report: Report { tables: vec![compared], interventions: None, persons: None, suppressed },
            units: first.map(|v| v.units.clone()).unwrap_or_default(),
            query: base,
        })
    }

    /// A report leaving the system as a file: computed like the page and written to the audit trail.
    pub async fn export_report(&self, viewer: Viewer<'_>, q: &ReportQuery, format: &str) -> Result<ReportView> {
        let audit_actor = match &viewer {
            Viewer::User(a) => Some((*a).clone()),
            Viewer::System { .. } => None,
        };
        let view = self.compute(viewer, q).await?;
        let detail = format!("{format}; {}", serde_json::to_string(q).unwrap_or_default());
        match &audit_actor {
            Some(a) => {
                self.record_detached(
                    a,
                    "export",
                    "report",
                    Some(view.programme.id),
                    "esportazione report esiti",
                    Some(detail),
                )
                .await?
            }
            None => {
                let entry = crate::audit::system_entry(
                    "cli",
                    None,
                    "export",
                    "report",
                    Some(detail),
                    "esportazione report esiti da riga di comando",
                );
                self.store().audit(entry).await?
            }
        }
        Ok(view)
    }

    async fn compute(&self, viewer: Viewer<'_>, q: &ReportQuery) -> Result<ReportView> {
        let (only_org, suppress) = match &viewer {
            Viewer::User(a) => self.report_scope(a)?,
            Viewer::System { suppress } => (None, *suppress),
        };
        let valid = q.validate()?;
        let (programme, units, planned, budget) = {
            let mut tx = self.store().read().await?;
            let programme =
                tx.programme(valid.programme_id).await?.ok_or_else(|| Invalid::one("programme_id", "err-not-found"))?;
            let orgs = tx.organisations().await?;
            let planned = tx.planned(programme.id).await?;
            let balances = tx.balances(programme.id).await?;
            tx.commit().await?;
            (programme, orgs, planned, balances)
        };
        // A coordinator sees their organisation and the ones under it (an AUSL and its SerD).
        let within = only_org.map(|root| policy::organisation_and_below(&units, root));
        let allowed = |id: i64| within.as_ref().is_none_or(|w| w.contains(&id));
        let mut all_units: Vec<Unit> = units
            .into_iter()
            .filter(|o| allowed(o.id))
            .filter_map(|o| OrganisationKind::parse(&o.kind).map(|kind| Unit { id: o.id, name: o.name, kind }))
            .collect();
        all_units.sort_by(|a, b| {
            let k = |u: &Unit| OrganisationKind::ALL.iter().position(|k| *k == u.kind);
            k(a).cmp(&k(b)).then_with(|| report::natural_cmp(&a.name, &b.name))
        });
        let filter = &valid.filter;
        let balance =
            balances_of(&budget, |id| allowed(id) && all_units.iter().any(|u| u.id == id && filter.includes_unit(u)));
        let planned: Vec<(i64, InterventionType, i64)> = planned
            .into_iter()
            .filter(|(org, t, _)| allowed(*org) && filter.intervention_type.is_none_or(|ft| ft == *t))
            .collect();
        self.refresh_cache().await?;
        let protection = suppress.then(|| self.protection());
        // Building the tables over hundreds of thousands of facts is CPU work: on the blocking
        // pool, under a read lock, so reports run in parallel and the async workers stay free.
        let cache = self.facts.clone();
        let (programme_id, by, only, filter) = (programme.id, valid.by, valid.only, valid.filter.clone());
        let (report, units) = crate::off_thread(move || {
            let allowed = |id: i64| within.as_ref().is_none_or(|w| w.contains(&id));
            let filter = &filter;
            let chosen_at = std::time::Instant::now();
            let state = cache.state.blocking_read();
            let unit_of: FxHashMap<i64, &Unit> = all_units.iter().map(|u| (u.id, u)).collect();
            let mut chosen: Vec<&Fact> = Vec::new();
            // Organisations shown: those with interventions or planned numbers, within the
            // filters; the filter offers every organisation taking part in the programme.
            let mut present: FxHashSet<i64> = planned.iter().map(|(o, _, _)| *o).collect();
            let mut taking_part: FxHashSet<i64> = budget.iter().map(|(o, _)| *o).filter(|o| allowed(*o)).collect();
            for (org, facts) in state.programme(programme_id) {
                if facts.is_empty() || !allowed(org) {
                    continue;
                }
                taking_part.insert(org);
                let Some(unit) = unit_of.get(&org).filter(|u| filter.includes_unit(u)) else { continue };
                let before = chosen.len();
                chosen.extend(facts.iter().filter(|f| filter.matches(f, unit)));
                if chosen.len() > before {
                    present.insert(org);
                }
            }
            tracing::debug!(ms = chosen_at.elapsed().as_millis() as u64, "report facts chosen");
            let shown: Vec<Unit> =
                all_units.iter().filter(|u| present.contains(&u.id) && filter.includes_unit(u)).cloned().collect();
            let planned = planned.into_iter().filter(|(o, _, _)| shown.iter().any(|u| u.id == *o)).collect();
            let input = report::Input { facts: chosen, units: shown, planned, budget: balance, by };
            let started = std::time::Instant::now();
            let report = report::build(&input, protection, only);
            tracing::debug!(
                facts = input.facts.len(),
                ms = started.elapsed().as_millis() as u64,
                "report tables built"
            );
            let units: Vec<Unit> = all_units.into_iter().filter(|u| taking_part.contains(&u.id)).collect();
            (report, units)
        })
        .await?;
        Ok(ReportView { programme, report, units, query: q.clone() })
    }

    /// The programmes a report may be asked for.
    pub async fn report_programmes(&self, actor: &Actor) -> Result<Vec<ProgrammeRow>> {
        policy::require(actor, Permission::ViewReports)?;
        let mut tx = self.store().read().await?;
        let list = tx.programmes().await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn programme_by_name(&self, name: &str) -> Result<ProgrammeRow> {
        let mut tx = self.store().read().await?;
        let list = tx.programmes().await?;
        tx.commit().await?;
        list.into_iter()
            .find(|p| p.name == name || p.id.to_string() == name)
            .ok_or_else(|| Invalid::one("programme_id", "err-not-found").into())
    }
}

fn balances_of(list: &[(i64, percorsi_domain::ledger::Balance)], include: impl Fn(i64) -> bool) -> Budget {
    let mut total = percorsi_domain::ledger::Balance::default();
    for (org, b) in list {
        if include(*org) {
            total.add(b);
        }
    }
    Budget::of(&total)
}

/// One line of the pseudonymised extract: the person's code and no identity, the organisation,
/// months instead of dates, and the classified values the reports count.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ExtractRow {
    pub person_code: String,
    pub organisation: String,
    pub organisation_kind: String,
    pub intervention_type: String,
    /// `YYYY-MM`.
    pub start_month: Option<String>,
    pub end_month: Option<String>,
    pub status: String,
    pub sex: Option<String>,
    pub age_class: Option<String>,
    pub education: Option<String>,
    pub work_history: Option<String>,
    pub substance_start: Option<String>,
    pub substance_current: Option<String>,
    pub relapses: Option<String>,
    pub substance_use: Option<bool>,
    pub outcome: Option<String>,
    pub contract_kind: Option<String>,
    pub evaluation: Option<String>,
    pub section_a: Option<String>,
    pub section_b: Option<String>,
    pub section_c: Option<String>,
    pub autonomy_change: Option<String>,
}

impl Service {
    /// The pseudonymised extract of a programme for analysts, within the report's filters:
    /// k-anonymous on its quasi-identifiers, with person codes keyed for this extract only.
    /// Audited.
    pub async fn extract(&self, actor: &Actor, q: &ReportQuery, format: &str) -> Result<crate::extract::Extract> {
        policy::require(actor, Permission::ExtractData)?;
        policy::require_recent_authentication(actor)?;
        let valid = q.validate()?;
        let mut tx = self.store().read().await?;
        tx.programme(valid.programme_id).await?.ok_or_else(|| Invalid::one("programme_id", "err-not-found"))?;
        let orgs: HashMap<i64, Unit> = tx
            .organisations()
            .await?
            .into_iter()
            .filter_map(|o| OrganisationKind::parse(&o.kind).map(|kind| (o.id, Unit { id: o.id, name: o.name, kind })))
            .collect();
        let lines = tx.extract_lines(valid.programme_id).await?;
        let detail = format!("{format}; {}", serde_json::to_string(q).unwrap_or_default());
        tx.commit().await?;
        self.record_detached(
            actor,
            "export",
            "extract",
            Some(valid.programme_id),
            "estratto pseudonimizzato",
            Some(detail),
        )
        .await?;
        self.refresh_cache().await?;
        let state = self.facts.state.read().await;
        let facts: FxHashMap<i64, &Fact> = state
            .programme(valid.programme_id)
            .flat_map(|(_, list)| list.iter().map(|f| (f.intervention_id, f)))
            .collect();
        let code = |c: Option<&'static str>| c.map(str::to_string);
        let mut out = Vec::new();
        for l in lines {
            let (Some(f), Some(unit)) = (facts.get(&l.intervention_id), orgs.get(&l.organisation_id)) else { continue };
            if !valid.filter.matches(f, unit) {
                continue;
            }
            out.push(ExtractRow {
                person_code: l.person_code,
                organisation: unit.name.clone(),
                organisation_kind: unit.kind.code().to_string(),
                intervention_type: f.kind.code().to_string(),
                start_month: f.start.map(|d| d.format("%Y-%m").to_string()),
                end_month: l.end.map(|d| d.format("%Y-%m").to_string()),
                status: l.status,
                sex: code(f.sex.map(|v| v.code())),
                age_class: code(f.age.map(|v| v.code())),
                education: code(f.education.map(|v| v.code())),
                work_history: code(f.work_history.map(|v| v.code())),
                substance_start: code(f.substance_start.map(|v| v.code())),
                substance_current: code(f.substance_current.map(|v| v.code())),
                relapses: code(f.relapses.map(|v| v.code())),
                substance_use: f.substance_use,
                outcome: f.ending.map(Ending::code),
                contract_kind: code(f.contract.map(|v| v.code())),
                evaluation: code(f.evaluation.map(|v| v.code())),
                section_a: code(f.section_a.map(|v| v.code())),
                section_b: code(f.section_b.map(|v| v.code())),
                section_c: code(f.section_c.map(|v| v.code())),
                autonomy_change: code(f.autonomy.map(|v| v.code())),
            });
        }
        let (generalisation, left_out, mut rows) = crate::extract::k_anonymous(out, self.extract_k);
        crate::extract::rekey(&mut rows, &self.pseudonym_key);
        Ok(crate::extract::Extract { k: self.extract_k, generalisation, left_out, rows })
    }
}
