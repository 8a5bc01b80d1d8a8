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
    fn activity_window() {
        let day = d("2026-06-01");
        assert!(is_active(d("2026-01-01"), None, false, day));
        assert!(is_active(d("2026-01-01"), Some(d("2026-06-01")), false, day));
        assert!(!is_active(d("2026-01-01"), Some(d("2026-05-31")), false, day));
        assert!(!is_active(d("2026-06-02"), None, false, day));
        assert!(!is_active(d("2026-01-01"), None, true, day));
    }
}
