//! Consent to share a person's data with a named organisation for a purpose.

use crate::codes::ConsentPurpose;
use crate::episode::parse_id;
use crate::validation::{Checker, Invalid};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ConsentForm {
    /// The organisation the data may be shared with.
    pub organisation_id: String,
    pub purpose: String,
    pub start_date: String,
    pub expiry_date: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsent {
    pub organisation_id: i64,
    pub purpose: ConsentPurpose,
    pub start_date: NaiveDate,
    pub expiry_date: Option<NaiveDate>,
}

impl ConsentForm {
    pub fn validate(&self) -> Result<NewConsent, Invalid> {
        let mut c = Checker::new();
        let org = parse_id(&mut c, "organisation_id", &self.organisation_id);
        let purpose = c.required_code("purpose", &self.purpose, ConsentPurpose::parse);
        let start = c.required_date("start_date", &self.start_date);
        let expiry = c.optional_date("expiry_date", Some(&self.expiry_date));
        c.date_order("expiry_date", start, expiry);
        c.finish(|| NewConsent {
            organisation_id: org.unwrap_or_default(),
            purpose: purpose.unwrap_or(ConsentPurpose::PresaInCarico),
            start_date: start.unwrap_or_default(),
            expiry_date: expiry,
        })
    }
}

/// The kinds of data about a person that a consent purpose opens to another organisation
/// (docs/consent-purposes.md). An organisation always sees what it wrote itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Surname, name, fiscal code, birth date.
    Identity,
    /// Phone, e-mail, address.
    Contacts,
    /// Education and work history.
    EducationWork,
    /// Living situation, housing placements.
    Housing,
    /// Interventions (type, organisation, dates, status), placements.
    Intervention,
    /// Care episodes and their team, substances, treatment: the fact of addiction care.
    Health,
    /// Relapses recorded during interventions.
    Relapses,
    /// Multidimensional assessments and intervention forms.
    Assessments,
    /// The personalised project (Budget di Salute) and its objectives.
    Project,
}

impl DataCategory {
    pub const ALL: [DataCategory; 9] = [
        DataCategory::Identity,
        DataCategory::Contacts,
        DataCategory::EducationWork,
        DataCategory::Housing,
        DataCategory::Intervention,
        DataCategory::Health,
        DataCategory::Relapses,
        DataCategory::Assessments,
        DataCategory::Project,
    ];
}

impl ConsentPurpose {
    /// What a consent for this purpose opens. Work and housing insertion need who the person is
    /// and how to reach them, their work or housing situation and the intervention; never
    /// substances, treatment, relapses or assessments. Outcome monitoring needs the
    /// interventions and assessments, not who the person is.
    pub fn categories(self) -> &'static [DataCategory] {
        use DataCategory::*;
        match self {
            ConsentPurpose::PresaInCarico => &DataCategory::ALL,
            ConsentPurpose::ProgettoPersonalizzato => {
                &[Identity, Contacts, EducationWork, Housing, Intervention, Assessments, Project]
            }
            ConsentPurpose::InserimentoLavorativo => &[Identity, Contacts, EducationWork, Intervention],
            ConsentPurpose::InserimentoAbitativo => &[Identity, Contacts, Housing, Intervention],
            ConsentPurpose::Monitoraggio => &[Intervention, Assessments],
        }
    }
}

/// Whether a consent covers a given day: started, not expired, not revoked.
pub fn is_active(start: NaiveDate, expiry: Option<NaiveDate>, revoked: bool, day: NaiveDate) -> bool {
    !revoked && start <= day && expiry.is_none_or(|e| e >= day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn consent_validation() {
        let ok = ConsentForm {
            organisation_id: "4".into(),
            purpose: "inserimento_lavorativo".into(),
            start_date: "2026-01-01".into(),
            expiry_date: "".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(ok.expiry_date, None);
        let err = ConsentForm {
            organisation_id: "4".into(),
            purpose: "marketing".into(),
            start_date: "2026-01-01".into(),
            expiry_date: "2025-01-01".into(),
        }
        .validate()
        .unwrap_err();
        assert!(err.has("purpose") && err.has("expiry_date"));
    }

    #[test]
    fn work_and_housing_purposes_never_open_health_data() {
        for p in [ConsentPurpose::InserimentoLavorativo, ConsentPurpose::InserimentoAbitativo] {
            for c in [DataCategory::Health, DataCategory::Relapses, DataCategory::Assessments] {
                assert!(!p.categories().contains(&c), "{p:?} opens {c:?}");
            }
        }
        assert!(!ConsentPurpose::Monitoraggio.categories().contains(&DataCategory::Identity));
        assert_eq!(ConsentPurpose::PresaInCarico.categories().len(), DataCategory::ALL.len());
    }

    #[test]
    fn activity_window() {
        let day = d("2026-06-01");
        assert!(is_active(d("2026-01-01"), None, false, day));
        assert!(is_active(d("2026-01-01"), Some(d("2026-06-01")), false, day));
        assert!(!is_active(d("2026-01-01"), Some(d("2026-05-31")), false, day));
        assert!(!is_active(d("2026-06-02"), None, false, day));
        assert!(!is_active(d("2026-01-01"), None, true, day));
    }
}
