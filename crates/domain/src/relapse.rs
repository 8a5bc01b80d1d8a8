//! Relapses as dated events of an intervention (seed 000: recovery is not linear): when, which
//! substance, in what context and what the team did. Each event adds one to the intervention's
//! relapse count, which table 5 of the report buckets.

use crate::codes::Substance;
use crate::validation::{Checker, Invalid};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RelapseForm {
    pub relapse_date: String,
    /// A substance code (optional).
    pub substance: String,
    /// Where and how it happened (optional).
    pub context: String,
    /// What was done about it (optional).
    pub response: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelapse {
    pub date: NaiveDate,
    pub substance: Option<Substance>,
    pub context: Option<String>,
    pub response: Option<String>,
}

impl RelapseForm {
    /// A relapse happened during the intervention: on or after `start`, not after `today`.
    pub fn validate(&self, start: Option<NaiveDate>, today: NaiveDate) -> Result<NewRelapse, Invalid> {
        let mut c = Checker::new();
        let date = c.required_date("relapse_date", &self.relapse_date);
        if date.is_some_and(|d| d > today) {
            c.fail("relapse_date", "err-date-in-future");
        }
        match (date, start) {
            (Some(d), Some(s)) if d < s => c.fail("relapse_date", "err-relapse-before-start"),
            (Some(_), None) => c.fail("relapse_date", "err-relapse-not-started"),
            _ => {}
        }
        let substance = c.optional_code("substance", Some(&self.substance), Substance::parse);
        let context = c.optional_text("context", Some(&self.context), 2000);
        let response = c.optional_text("response", Some(&self.response), 2000);
        c.finish(|| ())?;
        match date {
            Some(date) => Ok(NewRelapse { date, substance, context, response }),
            None => Err(Invalid::one("relapse_date", "err-required")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn a_relapse_falls_within_the_running_intervention() {
        let (start, today) = (Some(day("2026-01-10")), day("2026-05-10"));
        let f = RelapseForm { relapse_date: "2026-03-02".into(), substance: "alcol".into(), ..Default::default() };
        let r = f.validate(start, today).expect("valid");
        assert_eq!((r.date, r.substance, r.context), (day("2026-03-02"), Some(Substance::Alcol), None));
        for (date, started) in [("2026-01-09", start), ("2026-05-11", start), ("2026-03-02", None)] {
            let f = RelapseForm { relapse_date: date.into(), ..Default::default() };
            assert!(f.validate(started, today).expect_err(date).has("relapse_date"), "{date}");
        }
        let f = RelapseForm { relapse_date: "2026-03-02".into(), substance: "caffè".into(), ..Default::default() };
        assert!(f.validate(start, today).expect_err("unknown substance").has("substance"));
    }
}
