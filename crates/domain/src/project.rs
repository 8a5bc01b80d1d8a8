//! The personalised project (progetto personalizzato, "Budget di Salute"): for a person and a
//! period, objectives on the four axes with their expected results, supports and commitments,
//! the responsible organisation and operator, a budget per axis; reviews (verifiche) with an
//! outcome per objective. Every change is a new version; earlier versions stay readable.

use crate::validation::{Checker, FieldError, Invalid};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

code_enum!(
    /// The four axes of the Budget di Salute.
    Axis {
        CasaHabitat => "casa_habitat",
        FormazioneLavoro => "formazione_lavoro",
        AffettivitaSocialita => "affettivita_socialita",
        SaluteCura => "salute_cura",
    }
);

code_enum!(
    /// Supports (sostegni) a project can mobilise: the protocol's interventions and the
    /// other supports of seeds 000 and 003.
    SupportKind {
        SocioTerapeutico => "socio_terapeutico",
        InserimentoLavorativo => "inserimento_lavorativo",
        EsperienzaFormativa => "esperienza_formativa",
        TirocinioInclusione => "tirocinio_inclusione_sociale",
        SostegnoSocioEducativo => "sostegno_socio_educativo",
        AssistenzaDomiciliare => "assistenza_domiciliare",
        SostegnoGenitorialita => "sostegno_genitorialita",
        MediazioneCulturale => "mediazione_culturale",
        ProntoInterventoSociale => "pronto_intervento_sociale",
        InserimentoAbitativo => "inserimento_abitativo",
        AttivitaSocializzazione => "attivita_socializzazione",
    }
);

code_enum!(
    /// How an objective is going, as its responsible organisation reports between reviews.
    ProgressStatus {
        NonAvviato => "non_avviato",
        InCorso => "in_corso",
        Ostacolato => "ostacolato",
        Raggiunto => "raggiunto",
    }
);

/// A progress report on one objective by the organisation responsible for it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ProgressForm {
    pub status: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProgress {
    pub status: ProgressStatus,
    pub note: Option<String>,
}

impl ProgressForm {
    pub fn validate(&self) -> Result<NewProgress, Invalid> {
        let mut c = Checker::new();
        let status = c.required_code("status", &self.status, ProgressStatus::parse);
        let note = c.optional_text("note", Some(&self.note), 2000);
        c.finish(|| NewProgress { status: status.unwrap_or(ProgressStatus::InCorso), note })
    }
}

code_enum!(
    /// How an objective stands at a review.
    ObjectiveOutcome {
        Raggiunto => "raggiunto",
        Parziale => "parzialmente_raggiunto",
        NonRaggiunto => "non_raggiunto",
        Modificato => "modificato",
    }
);

/// Objectives a project form offers at once (more can be added in a later version).
pub const MAX_OBJECTIVES: usize = 6;

/// Field names of objective `i` (static, so errors can name them like any other field).
macro_rules! slot_names {
    ($suffix:literal) => {
        [
            concat!("o0_", $suffix),
            concat!("o1_", $suffix),
            concat!("o2_", $suffix),
            concat!("o3_", $suffix),
            concat!("o4_", $suffix),
            concat!("o5_", $suffix),
        ]
    };
}
pub const AXIS: [&str; MAX_OBJECTIVES] = slot_names!("axis");
pub const TITLE: [&str; MAX_OBJECTIVES] = slot_names!("title");
pub const RESULTS: [&str; MAX_OBJECTIVES] = slot_names!("results");
pub const SUPPORTS: [&str; MAX_OBJECTIVES] = slot_names!("supports");
pub const PERSON: [&str; MAX_OBJECTIVES] = slot_names!("person");
pub const SERVICES: [&str; MAX_OBJECTIVES] = slot_names!("services");
pub const ORG: [&str; MAX_OBJECTIVES] = slot_names!("org");
pub const OPERATOR: [&str; MAX_OBJECTIVES] = slot_names!("operator");
pub const DUE: [&str; MAX_OBJECTIVES] = slot_names!("due");
pub const OUTCOME: [&str; MAX_OBJECTIVES] = slot_names!("outcome");
pub const PRIORITY: [&str; MAX_OBJECTIVES] = slot_names!("priority");
pub const CHOSEN: [&str; MAX_OBJECTIVES] = slot_names!("chosen");
pub const VIEW: [&str; MAX_OBJECTIVES] = slot_names!("view");

code_enum!(
    /// When an objective is meant to be reached (seed 000: short and medium-term priorities).
    Priority {
        Breve => "breve_termine",
        Medio => "medio_termine",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Objective {
    pub axis: Axis,
    pub title: String,
    pub expected_results: String,
    pub supports: Vec<SupportKind>,
    /// What the person commits to.
    pub person_commitment: Option<String>,
    /// What the services commit to.
    pub service_commitment: Option<String>,
    pub responsible_organisation_id: i64,
    pub responsible_operator: Option<String>,
    pub due: Option<NaiveDate>,
    /// Short or medium term (versions written before priorities have none).
    #[serde(default)]
    pub priority: Option<Priority>,
    /// The person chose this objective themselves (seed 000: the person's own choices).
    #[serde(default)]
    pub chosen_by_person: bool,
    /// The objective in the person's own words.
    #[serde(default)]
    pub person_view: Option<String>,
}

/// One version of a project's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub objectives: Vec<Objective>,
    /// Cents per axis.
    pub budget: BTreeMap<Axis, i64>,
    pub next_review: NaiveDate,
}

impl Plan {
    pub fn total_budget(&self) -> i64 {
        self.budget.values().sum()
    }

    pub fn axes(&self) -> Vec<Axis> {
        let mut a: Vec<Axis> = self.objectives.iter().map(|o| o.axis).collect();
        a.sort();
        a.dedup();
        a
    }
}

fn get<'a>(raw: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    raw.get(k).map(String::as_str).unwrap_or("").trim()
}

/// Reads a project form (`start_date`, `end_date`, `next_review`, `budget_<axis>` in euros and,
/// per objective `i`, `o{i}_axis`, `o{i}_title`, `o{i}_results`, `o{i}_supports` (codes
/// separated by commas), `o{i}_person`, `o{i}_services`, `o{i}_org`, `o{i}_operator`,
/// `o{i}_due`, `o{i}_priority` (`breve_termine`/`medio_termine`), `o{i}_chosen` (the person
/// chose it) and `o{i}_view` (in the person's words)). Objective rows left entirely blank are
/// ignored; at least one is needed.
/// `organisation_exists` checks the responsible organisation ids.
pub fn parse_plan(raw: &BTreeMap<String, String>, organisation_exists: impl Fn(i64) -> bool) -> Result<Plan, Invalid> {
    let mut c = Checker::new();
    let start = c.required_date("start_date", get(raw, "start_date"));
    let end = c.required_date("end_date", get(raw, "end_date"));
    c.date_order("end_date", start, end);
    let next_review = c.required_date("next_review", get(raw, "next_review"));
    c.date_order("next_review", start, next_review);
    let mut budget = BTreeMap::new();
    for axis in Axis::ALL {
        let field: &'static str = match axis {
            Axis::CasaHabitat => "budget_casa_habitat",
            Axis::FormazioneLavoro => "budget_formazione_lavoro",
            Axis::AffettivitaSocialita => "budget_affettivita_socialita",
            Axis::SaluteCura => "budget_salute_cura",
        };
        let v = get(raw, field);
        if v.is_empty() {
            continue;
        }
        match crate::money::parse_euros(v) {
            Some(cents) if cents >= 0 => {
                budget.insert(*axis, cents);
            }
            _ => c.push(FieldError::new(field, "err-amount").arg("value", v)),
        }
    }
    let mut objectives = Vec::new();
    for i in 0..MAX_OBJECTIVES {
        let fields = [
            AXIS[i],
            TITLE[i],
            RESULTS[i],
            SUPPORTS[i],
            PERSON[i],
            SERVICES[i],
            ORG[i],
            OPERATOR[i],
            DUE[i],
            PRIORITY[i],
            VIEW[i],
        ];
        if fields.iter().all(|f| get(raw, f).is_empty()) {
            continue;
        }
        let axis = c.required_code(AXIS[i], get(raw, AXIS[i]), Axis::parse);
        let title = c.required_text(TITLE[i], get(raw, TITLE[i]), 200);
        let expected_results = c.required_text(RESULTS[i], get(raw, RESULTS[i]), 2000);
        let mut supports = Vec::new();
        for code in get(raw, SUPPORTS[i]).split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match SupportKind::parse(code) {
                Some(s) if !supports.contains(&s) => supports.push(s),
                Some(_) => {}
                None => c.push(FieldError::new(SUPPORTS[i], "err-unknown-code").arg("value", code)),
            }
        }
        let person_commitment = c.optional_text(PERSON[i], Some(get(raw, PERSON[i])), 1000);
        let service_commitment = c.optional_text(SERVICES[i], Some(get(raw, SERVICES[i])), 1000);
        let org = match get(raw, ORG[i]).parse::<i64>() {
            Ok(id) if organisation_exists(id) => Some(id),
            Ok(_) => {
                c.fail(ORG[i], "err-unknown-choice");
                None
            }
            Err(_) => {
                c.fail(ORG[i], "err-required");
                None
            }
        };
        let responsible_operator = c.optional_text(OPERATOR[i], Some(get(raw, OPERATOR[i])), 120);
        let due = c.optional_date(DUE[i], Some(get(raw, DUE[i])));
        c.date_order(DUE[i], start, due);
        let priority = c.optional_code(PRIORITY[i], Some(get(raw, PRIORITY[i])), Priority::parse);
        let chosen_by_person = matches!(get(raw, CHOSEN[i]), "true" | "on" | "si" | "1");
        let person_view = c.optional_text(VIEW[i], Some(get(raw, VIEW[i])), 1000);
        if let (Some(axis), Some(org)) = (axis, org) {
            objectives.push(Objective {
                axis,
                title,
                expected_results,
                supports,
                person_commitment,
                service_commitment,
                responsible_organisation_id: org,
                responsible_operator,
                due,
                priority,
                chosen_by_person,
                person_view,
            });
        }
    }
    let blank = (0..MAX_OBJECTIVES).all(|i| get(raw, TITLE[i]).is_empty() && get(raw, AXIS[i]).is_empty());
    if blank {
        c.fail(TITLE[0], "err-project-needs-objective");
    }
    c.finish(|| ())?;
    match (start, end, next_review) {
        (Some(start), Some(end), Some(next_review)) => Ok(Plan { start, end, objectives, budget, next_review }),
        _ => Err(Invalid::one("start_date", "err-required")),
    }
}

/// The form values that show a plan again (for editing it into a new version).
pub fn plan_values(p: &Plan) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("start_date".into(), p.start.to_string());
    m.insert("end_date".into(), p.end.to_string());
    m.insert("next_review".into(), p.next_review.to_string());
    for (axis, cents) in &p.budget {
        m.insert(
            format!("budget_{}", axis.code()),
            crate::money::format_euros(*cents).replace("€ ", "").replace('€', ""),
        );
    }
    for (i, o) in p.objectives.iter().enumerate().take(MAX_OBJECTIVES) {
        m.insert(AXIS[i].into(), o.axis.code().into());
        m.insert(TITLE[i].into(), o.title.clone());
        m.insert(RESULTS[i].into(), o.expected_results.clone());
        m.insert(SUPPORTS[i].into(), o.supports.iter().map(|s| s.code()).collect::<Vec<_>>().join(","));
        m.insert(PERSON[i].into(), o.person_commitment.clone().unwrap_or_default());
        m.insert(SERVICES[i].into(), o.service_commitment.clone().unwrap_or_default());
        m.insert(ORG[i].into(), o.responsible_organisation_id.to_string());
        m.insert(OPERATOR[i].into(), o.responsible_operator.clone().unwrap_or_default());
        m.insert(DUE[i].into(), o.due.map(|d| d.to_string()).unwrap_or_default());
        m.insert(PRIORITY[i].into(), o.priority.map(|p| p.code().to_string()).unwrap_or_default());
        if o.chosen_by_person {
            m.insert(CHOSEN[i].into(), "true".into());
        }
        m.insert(VIEW[i].into(), o.person_view.clone().unwrap_or_default());
    }
    m
}

/// A review (verifica): who took part, how each objective stands, when the next one is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    pub date: NaiveDate,
    pub participants: String,
    /// One per objective of the reviewed version, in order.
    pub outcomes: Vec<ObjectiveOutcome>,
    pub note: Option<String>,
    pub next_review: NaiveDate,
}

/// Reads a review form for a plan with `objectives` objectives: `review_date`, `participants`,
/// `note`, `next_review`, and `o{i}_outcome` for each objective.
pub fn parse_review(raw: &BTreeMap<String, String>, objectives: usize, today: NaiveDate) -> Result<Review, Invalid> {
    let mut c = Checker::new();
    let date = c.required_date("review_date", get(raw, "review_date"));
    if date.is_some_and(|d| d > today) {
        c.fail("review_date", "err-date-in-future");
    }
    let participants = c.required_text("participants", get(raw, "participants"), 1000);
    let note = c.optional_text("note", Some(get(raw, "note")), 2000);
    let next_review = c.required_date("next_review", get(raw, "next_review"));
    c.date_order("next_review", date, next_review);
    let outcomes: Vec<Option<ObjectiveOutcome>> = (0..objectives.min(MAX_OBJECTIVES))
        .map(|i| c.required_code(OUTCOME[i], get(raw, OUTCOME[i]), ObjectiveOutcome::parse))
        .collect();
    c.finish(|| ())?;
    match (date, next_review) {
        (Some(date), Some(next_review)) => {
            Ok(Review { date, participants, outcomes: outcomes.into_iter().flatten().collect(), note, next_review })
        }
        _ => Err(Invalid::one("review_date", "err-required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const BASE: [(&str, &str); 10] = [
        ("start_date", "2026-01-01"),
        ("end_date", "2026-12-31"),
        ("next_review", "2026-04-01"),
        ("budget_casa_habitat", "1.200,00"),
        ("o0_axis", "casa_habitat"),
        ("o0_title", "Una casa propria"),
        ("o0_results", "Contratto di affitto entro giugno"),
        ("o0_supports", "inserimento_abitativo, sostegno_socio_educativo"),
        ("o0_org", "3"),
        ("o2_title", ""),
    ];

    #[test]
    fn a_plan_reads_objectives_supports_and_budgets() {
        let p = parse_plan(&form(&BASE), |id| id == 3).expect("valid");
        assert_eq!(p.objectives.len(), 1);
        assert_eq!(
            p.objectives[0].supports,
            vec![SupportKind::InserimentoAbitativo, SupportKind::SostegnoSocioEducativo]
        );
        assert_eq!(p.budget.get(&Axis::CasaHabitat), Some(&120_000));
        assert_eq!(p.total_budget(), 120_000);
        let again = parse_plan(&plan_values(&p), |id| id == 3).expect("round trip");
        assert_eq!(again, p);
    }

    #[test]
    fn every_wrong_field_of_every_objective_is_named() {
        let mut f = form(&BASE);
        f.insert("o0_org".into(), "99".into());
        f.insert("o1_title".into(), "Lavoro".into());
        f.insert("o1_axis".into(), "lavoro".into());
        f.insert("o1_supports".into(), "magia".into());
        f.insert("budget_salute_cura".into(), "tanti".into());
        let e = parse_plan(&f, |id| id == 3).expect_err("invalid");
        let fields: Vec<&str> = e.0.iter().map(|e| e.field).collect();
        for name in ["o0_org", "o1_axis", "o1_results", "o1_supports", "o1_org", "budget_salute_cura"] {
            assert!(fields.contains(&name), "{name} missing from {fields:?}");
        }
    }

    #[test]
    fn a_plan_needs_an_objective_and_reviews_need_every_outcome() {
        let f = form(&[("start_date", "2026-01-01"), ("end_date", "2026-12-31"), ("next_review", "2026-03-01")]);
        let e = parse_plan(&f, |_| true).expect_err("no objective");
        assert_eq!(e.0[0].key, "err-project-needs-objective");
        let today = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default();
        let r = form(&[
            ("review_date", "2026-04-01"),
            ("participants", "CM, persona"),
            ("next_review", "2026-07-01"),
            ("o0_outcome", "raggiunto"),
        ]);
        let e = parse_review(&r, 2, today).expect_err("second outcome missing");
        assert_eq!(e.0[0].field, "o1_outcome");
        let ok = parse_review(&r, 1, today).expect("valid");
        assert_eq!(ok.outcomes, vec![ObjectiveOutcome::Raggiunto]);
    }
}
