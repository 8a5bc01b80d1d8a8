//! Funded programmes: period, participating organisations, versioned rules per intervention
//! type, planned interventions ("interventi previsti") and budgets.

use crate::episode::parse_id;
use crate::money::parse_euros;
use crate::validation::{Checker, FieldError, Invalid};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

code_enum!(
    /// The intervention types of the regional work-insertion protocol (seed 001).
    InterventionType {
        SocioTerapeutico => "socio_terapeutico",
        InserimentoLavorativo => "inserimento_lavorativo",
        EsperienzaFormativa => "esperienza_formativa",
    }
);

code_enum!(
    /// Whether a rule's monthly amount is paid as is or is a ceiling.
    AmountKind {
        Fisso => "fisso",
        Massimo => "massimo",
    }
);

/// The rule for one intervention type in one programme, at one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rule {
    pub intervention_type: InterventionType,
    pub min_months: u32,
    pub max_months: u32,
    pub amount_cents: i64,
    pub amount_kind: AmountKind,
}

impl Rule {
    /// Checks a planned duration and monthly amount, naming the rule in the error.
    pub fn check(&self, c: &mut Checker, months: u32, amount_cents: i64) {
        if months < self.min_months || months > self.max_months {
            c.push(
                FieldError::new("planned_end", "err-duration-rule")
                    .arg("type", self.intervention_type.code())
                    .arg("min", self.min_months.to_string())
                    .arg("max", self.max_months.to_string())
                    .arg("months", months.to_string()),
            );
        }
        let ok = match self.amount_kind {
            AmountKind::Fisso => amount_cents == self.amount_cents,
            AmountKind::Massimo => amount_cents > 0 && amount_cents <= self.amount_cents,
        };
        if !ok {
            let key = if self.amount_kind == AmountKind::Fisso { "err-amount-fixed" } else { "err-amount-max" };
            c.push(
                FieldError::new("monthly_amount", key)
                    .arg("type", self.intervention_type.code())
                    .arg("amount", crate::money::format_euros(self.amount_cents)),
            );
        }
    }
}

/// The seed's rules: socio-therapeutic and work insertion 6–14 months at EUR 300 a month;
/// training experience 3–12 months at most EUR 400 a month.
pub fn default_rules() -> [Rule; 3] {
    [
        Rule {
            intervention_type: InterventionType::SocioTerapeutico,
            min_months: 6,
            max_months: 14,
            amount_cents: 30_000,
            amount_kind: AmountKind::Fisso,
        },
        Rule {
            intervention_type: InterventionType::InserimentoLavorativo,
            min_months: 6,
            max_months: 14,
            amount_cents: 30_000,
            amount_kind: AmountKind::Fisso,
        },
        Rule {
            intervention_type: InterventionType::EsperienzaFormativa,
            min_months: 3,
            max_months: 12,
            amount_cents: 40_000,
            amount_kind: AmountKind::Massimo,
        },
    ]
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ProgrammeForm {
    pub name: String,
    pub start_date: String,
    pub end_date: String,
    /// Where the money comes from (e.g. "Fondo regionale dipendenze"); optional.
    pub funding_source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewProgramme {
    pub name: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub funding_source: Option<String>,
}

impl ProgrammeForm {
    pub fn validate(&self) -> Result<NewProgramme, Invalid> {
        let mut c = Checker::new();
        let name = c.required_text("name", &self.name, 160);
        let start = c.required_date("start_date", &self.start_date);
        let end = c.required_date("end_date", &self.end_date);
        c.date_order("end_date", start, end);
        let funding_source = c.optional_text("funding_source", Some(&self.funding_source), 120);
        c.finish(|| NewProgramme {
            name,
            start_date: start.unwrap_or_default(),
            end_date: end.unwrap_or_default(),
            funding_source,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RuleForm {
    pub intervention_type: String,
    pub min_months: String,
    pub max_months: String,
    /// Euros, e.g. "300,00".
    pub monthly_amount: String,
    pub amount_kind: String,
}

impl RuleForm {
    pub fn validate(&self) -> Result<Rule, Invalid> {
        let mut c = Checker::new();
        let t = c.required_code("intervention_type", &self.intervention_type, InterventionType::parse);
        let min = months_field(&mut c, "min_months", &self.min_months);
        let max = months_field(&mut c, "max_months", &self.max_months);
        if let (Some(a), Some(b)) = (min, max) {
            if b < a {
                c.push(FieldError::new("max_months", "err-max-below-min").arg("min", a.to_string()));
            }
        }
        let amount = euros_field(&mut c, "monthly_amount", &self.monthly_amount);
        let kind = c.required_code("amount_kind", &self.amount_kind, AmountKind::parse);
        c.finish(|| Rule {
            intervention_type: t.unwrap_or(InterventionType::SocioTerapeutico),
            min_months: min.unwrap_or_default(),
            max_months: max.unwrap_or_default(),
            amount_cents: amount.unwrap_or_default(),
            amount_kind: kind.unwrap_or(AmountKind::Fisso),
        })
    }
}

fn months_field(c: &mut Checker, field: &'static str, raw: &str) -> Option<u32> {
    match raw.trim().parse::<u32>() {
        Ok(m) if (1..=60).contains(&m) => Some(m),
        _ if raw.trim().is_empty() => {
            c.fail(field, "err-required");
            None
        }
        _ => {
            c.push(FieldError::new(field, "err-months").arg("value", raw.trim()));
            None
        }
    }
}

/// A positive amount in euros, returned in cents.
pub fn euros_field(c: &mut Checker, field: &'static str, raw: &str) -> Option<i64> {
    if raw.trim().is_empty() {
        c.fail(field, "err-required");
        return None;
    }
    match parse_euros(raw) {
        Some(v) if v > 0 => Some(v),
        _ => {
            c.push(FieldError::new(field, "err-amount").arg("value", raw.trim()));
            None
        }
    }
}

/// An organisation's participation: its budget and planned interventions per type.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ParticipationForm {
    pub organisation_id: String,
    /// Euros.
    pub budget: String,
    pub planned_socio_terapeutico: String,
    pub planned_inserimento_lavorativo: String,
    pub planned_esperienza_formativa: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participation {
    pub organisation_id: i64,
    pub budget_cents: i64,
    pub planned: Vec<(InterventionType, i64)>,
}

/// Planned interventions of one type for one organisation: far beyond any regional network.
pub const MAX_PLANNED: i64 = 1_000_000;

impl ParticipationForm {
    pub fn validate(&self) -> Result<Participation, Invalid> {
        let mut c = Checker::new();
        let org = parse_id(&mut c, "organisation_id", &self.organisation_id);
        let budget = if self.budget.trim() == "0" { Some(0) } else { euros_field(&mut c, "budget", &self.budget) };
        let mut planned = Vec::new();
        for (t, field, raw) in [
            (InterventionType::SocioTerapeutico, "planned_socio_terapeutico", &self.planned_socio_terapeutico),
            (
                InterventionType::InserimentoLavorativo,
                "planned_inserimento_lavorativo",
                &self.planned_inserimento_lavorativo,
            ),
            (InterventionType::EsperienzaFormativa, "planned_esperienza_formativa", &self.planned_esperienza_formativa),
        ] {
            match raw.trim() {
                "" => planned.push((t, 0)),
                v => match v.parse::<i64>() {
                    Ok(n) if (0..=MAX_PLANNED).contains(&n) => planned.push((t, n)),
                    _ => c.push(
                        FieldError::new(field, "err-number-range")
                            .arg("value", v)
                            .arg("min", "0")
                            .arg("max", MAX_PLANNED.to_string()),
                    ),
                },
            }
        }
        c.finish(|| Participation {
            organisation_id: org.unwrap_or_default(),
            budget_cents: budget.unwrap_or_default(),
            planned,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_follow_the_seed() {
        let [st, il, ef] = default_rules();
        assert_eq!((st.min_months, st.max_months, st.amount_cents), (6, 14, 30_000));
        assert_eq!((il.min_months, il.max_months, il.amount_cents), (6, 14, 30_000));
        assert_eq!(
            (ef.min_months, ef.max_months, ef.amount_cents, ef.amount_kind),
            (3, 12, 40_000, AmountKind::Massimo)
        );
    }

    #[test]
    fn rule_check_names_the_rule() {
        let [_, il, ef] = default_rules();
        let mut c = Checker::new();
        il.check(&mut c, 5, 30_000);
        il.check(&mut c, 15, 25_000);
        ef.check(&mut c, 3, 40_001);
        let err = c.finish(|| ()).unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|e| e.key).collect();
        assert_eq!(keys, vec!["err-duration-rule", "err-duration-rule", "err-amount-fixed", "err-amount-max"]);
        assert!(err.0[0].args.contains(&("min", "6".to_string())));
        let mut ok = Checker::new();
        il.check(&mut ok, 6, 30_000);
        il.check(&mut ok, 14, 30_000);
        ef.check(&mut ok, 12, 25_000);
        assert!(ok.finish(|| ()).is_ok(), "bounds are inclusive and a maximum allows less");
    }

    #[test]
    fn rule_form_validation() {
        let err = RuleForm {
            intervention_type: "x".into(),
            min_months: "8".into(),
            max_months: "6".into(),
            monthly_amount: "-3".into(),
            amount_kind: "".into(),
        }
        .validate()
        .unwrap_err();
        for f in ["intervention_type", "max_months", "monthly_amount", "amount_kind"] {
            assert!(err.has(f), "{f}");
        }
        let r = RuleForm {
            intervention_type: "esperienza_formativa".into(),
            min_months: "3".into(),
            max_months: "12".into(),
            monthly_amount: "450,00".into(),
            amount_kind: "massimo".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(r.amount_cents, 45_000);
    }

    #[test]
    fn participation_form() {
        let p = ParticipationForm {
            organisation_id: "3".into(),
            budget: "12.000,00".into(),
            planned_socio_terapeutico: "4".into(),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(p.budget_cents, 1_200_000);
        assert_eq!(p.planned[0], (InterventionType::SocioTerapeutico, 4));
        assert_eq!(p.planned[1].1, 0);
        let err = ParticipationForm {
            organisation_id: "3".into(),
            budget: "dieci".into(),
            planned_esperienza_formativa: "-1".into(),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.has("budget") && err.has("planned_esperienza_formativa"));
    }
}
