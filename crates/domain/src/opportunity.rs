//! The opportunities catalogue: training places, job placements, housing units and social
//! activities offered by organisations, with territory, capacity and availability; and the
//! placements (inserimenti) of people into them, optionally linked to a project objective.
//!
//! Housing First: a housing placement is never conditional on treatment. Nothing here knows
//! about treatment, substances or relapses: a placement starts and ends on dates and a reason
//! from a list that has none of them, and nothing else changes its status.

use crate::episode::parse_id;
use crate::project::Axis;
use crate::validation::{Checker, FieldError, Invalid};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

code_enum!(
    OpportunityKind {
        Formazione => "formazione",
        Lavoro => "lavoro",
        Abitazione => "abitazione",
        Socializzazione => "socializzazione",
    }
);

code_enum!(
    HousingKind {
        HousingFirst => "housing_first",
        GruppoConvivenza => "gruppo_convivenza",
        Altro => "altro",
    }
);

code_enum!(
    SupportIntensity {
        Bassa => "bassa",
        Media => "media",
        Alta => "alta",
    }
);

code_enum!(
    /// Why a placement ended. Deliberately no treatment, substance or relapse reason.
    PlacementEnd {
        Concluso => "concluso",
        SceltaPersona => "scelta_della_persona",
        Trasferimento => "trasferimento",
        AltraSoluzione => "altra_soluzione",
    }
);

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OpportunityForm {
    pub kind: String,
    pub axis: String,
    pub title: String,
    pub description: String,
    pub territory: String,
    pub capacity: String,
    /// Housing units only.
    pub housing_kind: String,
    /// Housing units only.
    pub support_intensity: String,
    /// Where and how to reach it (the directory fields Open Referral publishes).
    pub address: String,
    pub city: String,
    pub postal_code: String,
    /// Two-letter province code (`MS`, `LI`).
    pub province: String,
    pub phone: String,
    pub email: String,
    pub url: String,
    /// Opening days and hours, in words ("lun–ven 9–13").
    pub schedule: String,
    /// Who it is for and how to get in.
    pub eligibility: String,
    /// Languages spoken, ISO 639-1 codes separated by commas (`it, en, ar`).
    pub languages: String,
}

/// How to reach an opportunity: every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub address: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub province: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub url: Option<String>,
    pub schedule: Option<String>,
    pub eligibility: Option<String>,
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOpportunity {
    pub kind: OpportunityKind,
    pub axis: Axis,
    pub title: String,
    pub description: Option<String>,
    pub territory: String,
    pub capacity: i64,
    pub housing: Option<(HousingKind, SupportIntensity)>,
    pub directory: Directory,
}

/// The directory fields of a form: checked, trimmed, blanks as `None`.
fn directory(c: &mut Checker, f: &OpportunityForm) -> Directory {
    let email = c.optional_text("email", Some(&f.email), 254);
    if email.as_deref().is_some_and(|e| {
        let (local, domain) = e.split_once('@').unwrap_or(("", ""));
        local.is_empty() || !domain.contains('.') || e.chars().any(char::is_whitespace)
    }) {
        c.fail("email", "err-email");
    }
    let url = c.optional_text("url", Some(&f.url), 500);
    if url
        .as_deref()
        .is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://")) || u.chars().any(char::is_whitespace))
    {
        c.fail("url", "err-url");
    }
    let postal_code = c.optional_text("postal_code", Some(&f.postal_code), 5);
    if postal_code.as_deref().is_some_and(|p| p.len() != 5 || !p.chars().all(|ch| ch.is_ascii_digit())) {
        c.fail("postal_code", "err-postal-code");
    }
    let province = c.optional_text("province", Some(&f.province), 2).map(|p| p.to_uppercase());
    if province.as_deref().is_some_and(|p| p.len() != 2 || !p.chars().all(|ch| ch.is_ascii_alphabetic())) {
        c.fail("province", "err-province");
    }
    let mut languages = Vec::new();
    for code in f.languages.split(',').map(|l| l.trim().to_lowercase()).filter(|l| !l.is_empty()) {
        if code.len() != 2 || !code.chars().all(|ch| ch.is_ascii_lowercase()) {
            c.push(FieldError::new("languages", "err-language-code").arg("value", code));
        } else if !languages.contains(&code) {
            languages.push(code);
        }
    }
    Directory {
        address: c.optional_text("address", Some(&f.address), 200),
        city: c.optional_text("city", Some(&f.city), 80),
        postal_code,
        province,
        phone: c.optional_text("phone", Some(&f.phone), 40),
        email,
        url,
        schedule: c.optional_text("schedule", Some(&f.schedule), 500),
        eligibility: c.optional_text("eligibility", Some(&f.eligibility), 1000),
        languages,
    }
}

impl OpportunityForm {
    pub fn validate(&self) -> Result<NewOpportunity, Invalid> {
        let mut c = Checker::new();
        let kind = c.required_code("kind", &self.kind, OpportunityKind::parse);
        let axis = c.required_code("axis", &self.axis, Axis::parse);
        let title = c.required_text("title", &self.title, 200);
        let description = c.optional_text("description", Some(&self.description), 2000);
        let territory = c.required_text("territory", &self.territory, 80);
        let capacity = match self.capacity.trim().parse::<i64>() {
            Ok(n) if (1..=10_000).contains(&n) => Some(n),
            _ => {
                c.push(
                    FieldError::new("capacity", "err-number-range")
                        .arg("value", self.capacity.trim())
                        .arg("min", "1")
                        .arg("max", "10000"),
                );
                None
            }
        };
        let housing = if kind == Some(OpportunityKind::Abitazione) {
            let h = c.required_code("housing_kind", &self.housing_kind, HousingKind::parse);
            let s = c.required_code("support_intensity", &self.support_intensity, SupportIntensity::parse);
            h.zip(s)
        } else {
            None
        };
        let directory = directory(&mut c, self);
        c.finish(|| ())?;
        match (kind, axis, capacity) {
            (Some(kind), Some(axis), Some(capacity)) => {
                Ok(NewOpportunity { kind, axis, title, description, territory, capacity, housing, directory })
            }
            _ => Err(Invalid::one("kind", "err-required")),
        }
    }
}

/// Placing a person: who, from when, and optionally which project objective it serves.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PlacementForm {
    pub person_id: String,
    pub start_date: String,
    pub project_id: String,
    /// 1-based objective number within the project.
    pub objective: String,
    /// The page's single choice instead of the three fields: `person` or
    /// `person/project/objective` (values the page offers, never typed).
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlacement {
    pub person_id: i64,
    pub start: NaiveDate,
    pub project: Option<(i64, i64)>,
}

impl PlacementForm {
    pub fn validate(&self) -> Result<NewPlacement, Invalid> {
        let target = self.target.trim();
        if !target.is_empty() {
            let mut parts = target.split('/');
            let form = PlacementForm {
                person_id: parts.next().unwrap_or_default().into(),
                project_id: parts.next().unwrap_or_default().into(),
                objective: parts.next().unwrap_or_default().into(),
                start_date: self.start_date.clone(),
                target: String::new(),
            };
            if parts.next().is_some() {
                return Err(Invalid::one("target", "err-unknown-choice"));
            }
            // The three parts are one field on the page.
            return form.validate().map_err(|Invalid(errors)| {
                Invalid(
                    errors
                        .into_iter()
                        .map(|e| if e.field == "start_date" { e } else { FieldError::new("target", e.key) })
                        .collect(),
                )
            });
        }
        let mut c = Checker::new();
        let person = parse_id(&mut c, "person_id", &self.person_id);
        let start = c.required_date("start_date", &self.start_date);
        let project = if self.project_id.trim().is_empty() {
            None
        } else {
            let p = parse_id(&mut c, "project_id", &self.project_id);
            let o = parse_id(&mut c, "objective", &self.objective);
            p.zip(o)
        };
        c.finish(|| ())?;
        match (person, start) {
            (Some(person_id), Some(start)) => Ok(NewPlacement { person_id, start, project }),
            _ => Err(Invalid::one("person_id", "err-required")),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PlacementEndForm {
    pub end_date: String,
    pub reason: String,
}

impl PlacementEndForm {
    pub fn validate(&self, start: NaiveDate) -> Result<(NaiveDate, PlacementEnd), Invalid> {
        let mut c = Checker::new();
        let end = c.required_date("end_date", &self.end_date);
        c.date_order("end_date", Some(start), end);
        let reason = c.required_code("reason", &self.reason, PlacementEnd::parse);
        c.finish(|| ())?;
        end.zip(reason).ok_or_else(|| Invalid::one("end_date", "err-required"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn housing_units_need_their_kind_and_support_intensity() {
        let f = OpportunityForm {
            kind: "abitazione".into(),
            axis: "casa_habitat".into(),
            title: "Appartamento via Roma".into(),
            territory: "1-MS".into(),
            capacity: "2".into(),
            ..Default::default()
        };
        let e = f.validate().expect_err("housing fields");
        let fields: Vec<&str> = e.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["housing_kind", "support_intensity"]);
        let ok = OpportunityForm { housing_kind: "housing_first".into(), support_intensity: "alta".into(), ..f };
        assert_eq!(ok.validate().expect("valid").housing, Some((HousingKind::HousingFirst, SupportIntensity::Alta)));
    }

    #[test]
    fn directory_fields_are_optional_but_checked() {
        let base = OpportunityForm {
            kind: "formazione".into(),
            axis: "formazione_lavoro".into(),
            title: "Corso di saldatura".into(),
            territory: "1-MS".into(),
            capacity: "8".into(),
            ..Default::default()
        };
        assert_eq!(base.validate().map(|o| o.directory).ok(), Some(Directory::default()), "all optional");
        let full = OpportunityForm {
            address: " Via Roma 1 ".into(),
            city: "Massa".into(),
            postal_code: "54100".into(),
            province: "ms".into(),
            email: "corsi@coop.example.it".into(),
            url: "https://coop.example.it/corsi".into(),
            languages: "it, EN,it".into(),
            ..base.clone()
        };
        let d = full.validate().expect("valid").directory;
        assert_eq!((d.address.as_deref(), d.province.as_deref()), (Some("Via Roma 1"), Some("MS")));
        assert_eq!(d.languages, vec!["it", "en"]);
        let bad = OpportunityForm {
            postal_code: "5410".into(),
            province: "M1".into(),
            email: "corsi".into(),
            url: "coop.example.it".into(),
            languages: "ita".into(),
            ..base
        };
        let e = bad.validate().expect_err("invalid");
        for field in ["postal_code", "province", "email", "url", "languages"] {
            assert!(e.has(field), "{field}: {e:?}");
        }
    }

    /// Housing First in the types: no reason to end a placement speaks of treatment,
    /// substances or relapses.
    #[test]
    fn no_placement_end_is_about_treatment() {
        for r in PlacementEnd::ALL {
            for word in ["ricad", "sostanz", "trattament", "terapi", "astinen"] {
                assert!(!r.code().contains(word), "{r}");
            }
        }
    }
}
