//! Interventions of the work-insertion protocol: planning against the programme's rules, the
//! lifecycle, monitoring during the intervention, and the conclusion exactly as seed 001 classifies it.

use crate::episode::parse_id;
use crate::programme::{euros_field, InterventionType, Rule};
use crate::validation::{Checker, FieldError, Invalid};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

code_enum!(
    InterventionStatus {
        Proposto => "proposto",
        Attivo => "attivo",
        Sospeso => "sospeso",
        Prorogato => "prorogato",
        Concluso => "concluso",
        Interrotto => "interrotto",
    }
);

code_enum!(
    /// What a user does to move an intervention along its lifecycle.
    Transition {
        Activate => "attiva",
        Suspend => "sospendi",
        Resume => "riprendi",
        Prolong => "proroga",
        Conclude => "concludi",
        Interrupt => "interrompi",
    }
);

code_enum!(
    /// Positive conclusions (seed 001, "nuova classificazione degli esiti").
    PositiveOutcome {
        Completato => "completato",
        Prorogato => "prorogato",
        LavoroEnteOspitante => "lavoro_presso_ente_ospitante",
        LavoroAltroEnte => "lavoro_presso_altro_ente",
    }
);

code_enum!(
    InterruptionReason {
        RicadutaDipendenza => "ricaduta_dipendenza",
        NonInteresseLavoro => "non_interesse_lavoro",
        AggravamentoSalute => "aggravamento_salute",
        AggravamentoDetentivo => "aggravamento_detentivo",
        ProblemiAzienda => "problemi_azienda",
        AbbandonoProgramma => "abbandono_programma",
        Altro => "altro",
    }
);

code_enum!(
    ContractKind {
        TempoIndeterminato => "tempo_indeterminato",
        TempoDeterminato => "tempo_determinato",
        FormazioneLavoro => "formazione_lavoro",
        CollaborazioneBorsaLavoro => "collaborazione_borsa_lavoro",
    }
);

code_enum!(
    OverallEvaluation {
        Positiva => "positiva",
        ParzialmentePositiva => "parzialmente_positiva",
        ParzialmenteNegativa => "parzialmente_negativa",
        Negativa => "negativa",
    }
);

impl InterventionStatus {
    /// The lifecycle: proposto → attivo → sospeso ↔ attivo → prorogato → concluso | interrotto.
    pub fn apply(self, t: Transition) -> Option<InterventionStatus> {
        use InterventionStatus::*;
        use Transition::*;
        match (self, t) {
            (Proposto, Activate) => Some(Attivo),
            (Attivo | Prorogato, Suspend) => Some(Sospeso),
            (Sospeso, Resume) => Some(Attivo),
            (Attivo | Prorogato, Prolong) => Some(Prorogato),
            (Attivo | Prorogato | Sospeso, Conclude) => Some(Concluso),
            (Proposto | Attivo | Prorogato | Sospeso, Interrupt) => Some(Interrotto),
            _ => None,
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, InterventionStatus::Concluso | InterventionStatus::Interrotto)
    }

    /// Whether money is committed for the intervention (and payments may be recorded).
    pub fn is_running(self) -> bool {
        matches!(self, InterventionStatus::Attivo | InterventionStatus::Sospeso | InterventionStatus::Prorogato)
    }
}

/// Whole months covered from `start` to `end` inclusive: 1 Jan–30 Jun is 6 months. A month
/// counts when `start` plus that many calendar months (clamped at month end, so 31 Jan + 1
/// month is 28/29 Feb) is not after the day after `end`.
pub fn months_between(start: NaiveDate, end: NaiveDate) -> u32 {
    let Some(limit) = end.succ_opt() else { return 0 };
    let mut months = 0;
    while start.checked_add_months(chrono::Months::new(months + 1)).is_some_and(|d| d <= limit) {
        months += 1;
    }
    months
}

/// The programme an intervention is planned in, as the validation needs it.
pub struct ProgrammeContext<'a> {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub rules: &'a [Rule],
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct InterventionForm {
    pub programme_id: String,
    pub intervention_type: String,
    /// The host company, cooperative or training body.
    pub host_organisation_id: String,
    /// User id of the company tutor (a tutor of the host organisation); optional.
    pub tutor_id: String,
    pub planned_start: String,
    pub planned_end: String,
    pub weekly_days: String,
    pub weekly_hours: String,
    /// Euros per month.
    pub monthly_amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntervention {
    pub programme_id: i64,
    pub intervention_type: InterventionType,
    pub host_organisation_id: i64,
    pub tutor_id: Option<i64>,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub weekly_days: i64,
    pub weekly_hours: i64,
    pub monthly_amount_cents: i64,
    pub rule: Rule,
}

impl NewIntervention {
    pub fn months(&self) -> u32 {
        months_between(self.planned_start, self.planned_end)
    }

    /// What activation commits: the monthly amount for every planned month.
    pub fn planned_cost(&self) -> i64 {
        self.monthly_amount_cents * self.months() as i64
    }
}

/// Only the programme and type, to look up the rules before the full validation.
pub fn parse_programme_and_type(form: &InterventionForm) -> (Option<i64>, Option<InterventionType>) {
    (form.programme_id.trim().parse().ok(), InterventionType::parse(form.intervention_type.trim()))
}

impl InterventionForm {
    pub fn validate(&self, programme: Option<&ProgrammeContext>) -> Result<NewIntervention, Invalid> {
        let mut c = Checker::new();
        let programme_id = parse_id(&mut c, "programme_id", &self.programme_id);
        if programme_id.is_some() && programme.is_none() {
            c.fail("programme_id", "err-unknown-choice");
        }
        let t = c.required_code("intervention_type", &self.intervention_type, InterventionType::parse);
        let host = parse_id(&mut c, "host_organisation_id", &self.host_organisation_id);
        let tutor = match self.tutor_id.trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    c.fail("tutor_id", "err-unknown-choice");
                    None
                }
            },
        };
        let start = c.required_date("planned_start", &self.planned_start);
        let end = c.required_date("planned_end", &self.planned_end);
        c.date_order("planned_end", start, end);
        let days = small_number(&mut c, "weekly_days", &self.weekly_days, 1, 7);
        let hours = small_number(&mut c, "weekly_hours", &self.weekly_hours, 1, 60);
        let amount = euros_field(&mut c, "monthly_amount", &self.monthly_amount);
        let mut rule = None;
        if let (Some(p), Some(t)) = (programme, t) {
            if let Some(s) = start.filter(|s| *s < p.start || *s > p.end) {
                c.push(
                    FieldError::new("planned_start", "err-outside-programme")
                        .arg("start", p.start.format("%d/%m/%Y").to_string())
                        .arg("end", p.end.format("%d/%m/%Y").to_string())
                        .arg("value", s.format("%d/%m/%Y").to_string()),
                );
            }
            match p.rules.iter().find(|r| r.intervention_type == t) {
                Some(r) => {
                    if let (Some(s), Some(e), Some(a)) = (start, end, amount) {
                        if e >= s {
                            r.check(&mut c, months_between(s, e), a);
                        }
                    }
                    rule = Some(*r);
                }
                None => c.push(FieldError::new("intervention_type", "err-no-rule").arg("type", t.code())),
            }
        }
        c.finish(|| NewIntervention {
            programme_id: programme_id.unwrap_or_default(),
            intervention_type: t.unwrap_or(InterventionType::SocioTerapeutico),
            host_organisation_id: host.unwrap_or_default(),
            tutor_id: tutor,
            planned_start: start.unwrap_or_default(),
            planned_end: end.unwrap_or_default(),
            weekly_days: days.unwrap_or_default(),
            weekly_hours: hours.unwrap_or_default(),
            monthly_amount_cents: amount.unwrap_or_default(),
            rule: rule.unwrap_or(crate::programme::default_rules()[0]),
        })
    }
}

fn small_number(c: &mut Checker, field: &'static str, raw: &str, min: i64, max: i64) -> Option<i64> {
    if raw.trim().is_empty() {
        c.fail(field, "err-required");
        return None;
    }
    match raw.trim().parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Some(v),
        _ => {
            c.push(
                FieldError::new(field, "err-range")
                    .arg("min", min.to_string())
                    .arg("max", max.to_string())
                    .arg("value", raw.trim()),
            );
            None
        }
    }
}

/// A dated lifecycle step; prolongation carries the new end, activation the actual start.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TransitionForm {
    /// `attiva`, `sospendi`, `riprendi`, `proroga`, `concludi` is done with the conclusion form,
    /// `interrompi` likewise.
    pub transition: String,
    pub date: String,
    /// For `proroga`: the new planned end.
    pub new_end: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionStep {
    pub transition: Transition,
    pub date: NaiveDate,
    pub new_end: Option<NaiveDate>,
    pub note: Option<String>,
}

impl TransitionForm {
    pub fn validate(&self, today: NaiveDate) -> Result<TransitionStep, Invalid> {
        let mut c = Checker::new();
        let t = c.required_code("transition", &self.transition, Transition::parse);
        if matches!(t, Some(Transition::Conclude | Transition::Interrupt)) {
            c.fail("transition", "err-use-conclusion-form");
        }
        let date = c.required_date("date", &self.date);
        if date.is_some_and(|d| d > today) {
            c.fail("date", "err-date-in-future");
        }
        let new_end = c.optional_date("new_end", Some(&self.new_end));
        if t == Some(Transition::Prolong) && self.new_end.trim().is_empty() {
            c.fail("new_end", "err-required");
        }
        let note = c.optional_text("note", Some(&self.note), 500);
        c.finish(|| TransitionStep {
            transition: t.unwrap_or(Transition::Suspend),
            date: date.unwrap_or(today),
            new_end,
            note,
        })
    }
}

/// During the intervention: relapses and use of substances (health data: never shown to tutors).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MonitoringForm {
    /// Number of relapse episodes so far; blank when unknown.
    pub relapse_count: String,
    /// `si`, `no` or blank (unknown).
    pub legal_substance_use: String,
    pub illegal_substance_use: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Monitoring {
    pub relapse_count: Option<i64>,
    pub legal_substance_use: Option<bool>,
    pub illegal_substance_use: Option<bool>,
}

fn yes_no(c: &mut Checker, field: &'static str, raw: &str) -> Option<bool> {
    match raw.trim() {
        "" => None,
        "si" | "sì" | "true" | "yes" => Some(true),
        "no" | "false" => Some(false),
        v => {
            c.push(FieldError::new(field, "err-unknown-code").arg("value", v));
            None
        }
    }
}

impl MonitoringForm {
    pub fn validate(&self) -> Result<Monitoring, Invalid> {
        let mut c = Checker::new();
        let relapse = match self.relapse_count.trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(n) if (0..=1000).contains(&n) => Some(n),
                _ => {
                    c.push(FieldError::new("relapse_count", "err-count").arg("value", v));
                    None
                }
            },
        };
        let legal = yes_no(&mut c, "legal_substance_use", &self.legal_substance_use);
        let illegal = yes_no(&mut c, "illegal_substance_use", &self.illegal_substance_use);
        c.finish(|| Monitoring { relapse_count: relapse, legal_substance_use: legal, illegal_substance_use: illegal })
    }
}

/// Reports bucket relapses as Nessuna, 1–3, 4–10, 11 e oltre (and Mancante when unknown).
pub fn relapse_bucket(count: Option<i64>) -> &'static str {
    match count {
        None => "mancante",
        Some(0) => "nessuna",
        Some(1..=3) => "1_3",
        Some(4..=10) => "4_10",
        Some(_) => "11_oltre",
    }
}

/// Monthly attendance recorded by the tutor or the case manager.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AttendanceForm {
    /// `YYYY-MM`.
    pub month: String,
    pub days_planned: String,
    pub days_present: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    pub month: String,
    pub days_planned: i64,
    pub days_present: i64,
    pub note: Option<String>,
}

/// Parses `YYYY-MM` (or `MM/YYYY`) into the canonical `YYYY-MM`.
pub fn parse_month(c: &mut Checker, field: &'static str, raw: &str) -> Option<String> {
    let v = raw.trim();
    if v.is_empty() {
        c.fail(field, "err-required");
        return None;
    }
    let parsed = NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&format!("01/{v}"), "%d/%m/%Y"))
        .ok()
        .filter(|d| (1900..=2100).contains(&d.year()));
    match parsed {
        Some(d) => Some(d.format("%Y-%m").to_string()),
        None => {
            c.push(FieldError::new(field, "err-month").arg("value", v));
            None
        }
    }
}

impl AttendanceForm {
    pub fn validate(&self) -> Result<Attendance, Invalid> {
        let mut c = Checker::new();
        let month = parse_month(&mut c, "month", &self.month);
        let planned = small_number(&mut c, "days_planned", &self.days_planned, 1, 31);
        let present = match self.days_present.trim().parse::<i64>() {
            Ok(v) if v >= 0 && planned.is_none_or(|p| v <= p) => Some(v),
            _ => {
                c.push(FieldError::new("days_present", "err-days-present").arg("value", self.days_present.trim()));
                None
            }
        };
        let note = c.optional_text("note", Some(&self.note), 500);
        c.finish(|| Attendance {
            month: month.unwrap_or_default(),
            days_planned: planned.unwrap_or_default(),
            days_present: present.unwrap_or_default(),
            note,
        })
    }
}

/// A monthly payment (erogazione).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PaymentForm {
    /// `YYYY-MM`.
    pub month: String,
    /// Euros.
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub month: String,
    pub amount_cents: i64,
}

impl PaymentForm {
    pub fn validate(&self) -> Result<Payment, Invalid> {
        let mut c = Checker::new();
        let month = parse_month(&mut c, "month", &self.month);
        let amount = euros_field(&mut c, "amount", &self.amount);
        c.finish(|| Payment { month: month.unwrap_or_default(), amount_cents: amount.unwrap_or_default() })
    }
}

/// The conclusion: positive with a sub-kind, or interrupted with a reason; the contract obtained
/// afterwards; the case manager's overall evaluation.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ConclusionForm {
    pub end_date: String,
    /// `positivo` or `interrotto`.
    pub outcome: String,
    pub positive_kind: String,
    pub interruption_reason: String,
    pub interruption_text: String,
    pub contract_kind: String,
    pub contract_date: String,
    pub contract_employer: String,
    pub evaluation: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Positive(PositiveOutcome),
    Interrupted { reason: InterruptionReason, text: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub kind: ContractKind,
    pub date: NaiveDate,
    pub employer: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conclusion {
    pub end_date: NaiveDate,
    pub outcome: Outcome,
    pub contract: Option<Contract>,
    pub evaluation: OverallEvaluation,
}

impl ConclusionForm {
    pub fn validate(&self, actual_start: Option<NaiveDate>, today: NaiveDate) -> Result<Conclusion, Invalid> {
        let mut c = Checker::new();
        let end = c.required_date("end_date", &self.end_date);
        c.date_order("end_date", actual_start, end);
        if end.is_some_and(|e| e > today) {
            c.fail("end_date", "err-date-in-future");
        }
        let outcome = match self.outcome.trim() {
            "positivo" => {
                c.required_code("positive_kind", &self.positive_kind, PositiveOutcome::parse).map(Outcome::Positive)
            }
            "interrotto" => {
                let reason =
                    c.required_code("interruption_reason", &self.interruption_reason, InterruptionReason::parse);
                let text = c.optional_text("interruption_text", Some(&self.interruption_text), 500);
                if reason == Some(InterruptionReason::Altro) && text.is_none() {
                    c.fail("interruption_text", "err-other-needs-text");
                }
                reason.map(|reason| Outcome::Interrupted { reason, text })
            }
            "" => {
                c.fail("outcome", "err-required");
                None
            }
            v => {
                c.push(FieldError::new("outcome", "err-unknown-code").arg("value", v));
                None
            }
        };
        let contract_kind = c.optional_code("contract_kind", Some(&self.contract_kind), ContractKind::parse);
        let contract = if let Some(kind) = contract_kind {
            let date = c.required_date("contract_date", &self.contract_date);
            let employer = c.optional_text("contract_employer", Some(&self.contract_employer), 160);
            if employer.is_none() {
                c.fail("contract_employer", "err-required");
            }
            date.zip(employer).map(|(date, employer)| Contract { kind, date, employer })
        } else {
            if !self.contract_date.trim().is_empty() || !self.contract_employer.trim().is_empty() {
                c.fail("contract_kind", "err-required");
            }
            None
        };
        let evaluation = c.required_code("evaluation", &self.evaluation, OverallEvaluation::parse);
        c.finish(|| Conclusion {
            end_date: end.unwrap_or(today),
            outcome: outcome.clone().unwrap_or(Outcome::Positive(PositiveOutcome::Completato)),
            contract: contract.clone(),
            evaluation: evaluation.unwrap_or(OverallEvaluation::Positiva),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::programme::default_rules;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn lifecycle_allows_only_the_protocol_paths() {
        use InterventionStatus::*;
        use Transition::*;
        assert_eq!(Proposto.apply(Activate), Some(Attivo));
        assert_eq!(Attivo.apply(Suspend), Some(Sospeso));
        assert_eq!(Sospeso.apply(Resume), Some(Attivo));
        assert_eq!(Attivo.apply(Prolong), Some(Prorogato));
        assert_eq!(Prorogato.apply(Prolong), Some(Prorogato));
        assert_eq!(Prorogato.apply(Conclude), Some(Concluso));
        assert_eq!(Sospeso.apply(Interrupt), Some(Interrotto));
        assert_eq!(Proposto.apply(Conclude), None, "a proposal cannot be concluded");
        assert_eq!(Proposto.apply(Suspend), None);
        assert_eq!(Sospeso.apply(Prolong), None);
        for t in Transition::ALL {
            assert_eq!(Concluso.apply(*t), None);
            assert_eq!(Interrotto.apply(*t), None);
        }
    }

    #[test]
    fn months_are_counted_inclusively() {
        assert_eq!(months_between(d("2011-01-01"), d("2011-06-30")), 6);
        assert_eq!(months_between(d("2011-01-15"), d("2011-07-14")), 6);
        assert_eq!(months_between(d("2011-01-15"), d("2011-07-13")), 5);
        assert_eq!(months_between(d("2011-01-31"), d("2012-02-29")), 13);
        assert_eq!(months_between(d("2011-03-01"), d("2011-02-01")), 0);
        // Plans made by adding months to a 31st end on a shorter month's last day: still whole months.
        let start = d("2026-08-31");
        let end = start.checked_add_months(chrono::Months::new(6)).unwrap().pred_opt().unwrap();
        assert_eq!(end, d("2027-02-27"));
        assert_eq!(months_between(start, end), 6);
        for day in 1..=31 {
            if let Some(s) = NaiveDate::from_ymd_opt(2027, 1, day) {
                let e = s.checked_add_months(chrono::Months::new(6)).unwrap().pred_opt().unwrap();
                assert_eq!(months_between(s, e), 6, "{s}");
            }
        }
    }

    fn form() -> InterventionForm {
        InterventionForm {
            programme_id: "1".into(),
            intervention_type: "inserimento_lavorativo".into(),
            host_organisation_id: "9".into(),
            tutor_id: "".into(),
            planned_start: "2025-01-01".into(),
            planned_end: "2025-06-30".into(),
            weekly_days: "5".into(),
            weekly_hours: "20".into(),
            monthly_amount: "300".into(),
        }
    }

    #[test]
    fn intervention_is_checked_against_the_programme_rules() {
        let rules = default_rules();
        let p = ProgrammeContext { start: d("2025-01-01"), end: d("2026-12-31"), rules: &rules };
        let ok = form().validate(Some(&p)).unwrap();
        assert_eq!(ok.months(), 6);
        assert_eq!(ok.planned_cost(), 180_000);
        let mut short = form();
        short.planned_end = "2025-05-31".into();
        let err = short.validate(Some(&p)).unwrap_err();
        assert_eq!(err.0[0].key, "err-duration-rule");
        assert_eq!(err.0[0].field, "planned_end");
        let mut early = form();
        early.planned_start = "2024-12-01".into();
        early.planned_end = "2025-06-30".into();
        assert!(early.validate(Some(&p)).unwrap_err().0.iter().any(|e| e.key == "err-outside-programme"));
        let mut bad = form();
        bad.weekly_days = "8".into();
        bad.monthly_amount = "350".into();
        let err = bad.validate(Some(&p)).unwrap_err();
        assert!(err.has("weekly_days") && err.has("monthly_amount"));
        assert!(form().validate(None).unwrap_err().has("programme_id"));
    }

    #[test]
    fn conclusion_rules() {
        let today = d("2026-11-24");
        let start = Some(d("2025-01-01"));
        let ok = ConclusionForm {
            end_date: "2025-06-30".into(),
            outcome: "positivo".into(),
            positive_kind: "lavoro_presso_ente_ospitante".into(),
            evaluation: "positiva".into(),
            ..Default::default()
        }
        .validate(start, today)
        .unwrap();
        assert_eq!(ok.outcome, Outcome::Positive(PositiveOutcome::LavoroEnteOspitante));
        let err = ConclusionForm {
            end_date: "2025-03-01".into(),
            outcome: "interrotto".into(),
            interruption_reason: "altro".into(),
            evaluation: "negativa".into(),
            ..Default::default()
        }
        .validate(start, today)
        .unwrap_err();
        assert_eq!(err.0, vec![FieldError::new("interruption_text", "err-other-needs-text")], "altro requires text");
        let err = ConclusionForm {
            end_date: "2024-12-01".into(),
            outcome: "boh".into(),
            contract_employer: "ACME".into(),
            ..Default::default()
        }
        .validate(start, today)
        .unwrap_err();
        for f in ["end_date", "outcome", "contract_kind", "evaluation"] {
            assert!(err.has(f), "{f}: {err:?}");
        }
        let err = ConclusionForm {
            end_date: "2025-06-30".into(),
            outcome: "positivo".into(),
            positive_kind: "completato".into(),
            contract_kind: "tempo_determinato".into(),
            evaluation: "positiva".into(),
            ..Default::default()
        }
        .validate(start, today)
        .unwrap_err();
        assert!(err.has("contract_date") && err.has("contract_employer"));
    }

    #[test]
    fn monitoring_and_buckets() {
        let m = MonitoringForm {
            relapse_count: "4".into(),
            legal_substance_use: "si".into(),
            illegal_substance_use: "".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(
            m,
            Monitoring { relapse_count: Some(4), legal_substance_use: Some(true), illegal_substance_use: None }
        );
        assert!(MonitoringForm { relapse_count: "-1".into(), ..Default::default() }.validate().is_err());
        assert_eq!(relapse_bucket(None), "mancante");
        assert_eq!(relapse_bucket(Some(0)), "nessuna");
        assert_eq!(relapse_bucket(Some(3)), "1_3");
        assert_eq!(relapse_bucket(Some(4)), "4_10");
        assert_eq!(relapse_bucket(Some(10)), "4_10");
        assert_eq!(relapse_bucket(Some(11)), "11_oltre");
    }

    #[test]
    fn months_and_attendance_and_payments() {
        let a = AttendanceForm {
            month: "03/2025".into(),
            days_planned: "20".into(),
            days_present: "18".into(),
            note: "".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(a.month, "2025-03");
        assert!(AttendanceForm {
            month: "2025-13".into(),
            days_planned: "20".into(),
            days_present: "21".into(),
            note: "".into()
        }
        .validate()
        .unwrap_err()
        .has("days_present"));
        let p = PaymentForm { month: "2025-04".into(), amount: "300,00".into() }.validate().unwrap();
        assert_eq!(p.amount_cents, 30_000);
        assert!(PaymentForm { month: "aprile".into(), amount: "0".into() }.validate().unwrap_err().has("month"));
    }

    #[test]
    fn transitions_need_dates_and_prolongation_a_new_end() {
        let today = d("2026-11-24");
        let err = TransitionForm { transition: "proroga".into(), date: "2026-11-01".into(), ..Default::default() }
            .validate(today)
            .unwrap_err();
        assert!(err.has("new_end"));
        let err = TransitionForm { transition: "concludi".into(), date: "2026-11-01".into(), ..Default::default() }
            .validate(today)
            .unwrap_err();
        assert_eq!(err.0[0].key, "err-use-conclusion-form");
        assert!(TransitionForm { transition: "attiva".into(), date: "2026-11-30".into(), ..Default::default() }
            .validate(today)
            .is_err());
    }
}
