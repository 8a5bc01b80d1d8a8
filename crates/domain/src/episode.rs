//! Care episodes (presa in carico) and their care team.

use crate::codes::{EpisodeClosure, Substance};
use crate::validation::{Checker, Invalid};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EpisodeForm {
    pub start_date: String,
    /// User id of the case manager, a case manager of the organisation opening the episode.
    pub case_manager_id: String,
    pub substance_start: String,
    pub substance_current: String,
    #[serde(deserialize_with = "crate::validation::de_bool")]
    pub treatment_in_progress: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEpisode {
    pub start_date: NaiveDate,
    pub case_manager_id: i64,
    pub substance_start: Option<Substance>,
    pub substance_current: Option<Substance>,
    pub treatment_in_progress: bool,
}

impl EpisodeForm {
    pub fn validate(&self, today: NaiveDate) -> Result<NewEpisode, Invalid> {
        let mut c = Checker::new();
        let start = c.required_date("start_date", &self.start_date);
        if start.is_some_and(|s| s > today) {
            c.fail("start_date", "err-date-in-future");
        }
        let cm = parse_id(&mut c, "case_manager_id", &self.case_manager_id);
        let substance_start = c.optional_code("substance_start", Some(&self.substance_start), Substance::parse);
        let substance_current = c.optional_code("substance_current", Some(&self.substance_current), Substance::parse);
        c.finish(|| NewEpisode {
            start_date: start.unwrap_or(today),
            case_manager_id: cm.unwrap_or_default(),
            substance_start,
            substance_current,
            treatment_in_progress: self.treatment_in_progress,
        })
    }
}

/// Parses a required numeric identifier chosen from a list (user, organisation).
pub fn parse_id(c: &mut Checker, field: &'static str, raw: &str) -> Option<i64> {
    let v = raw.trim();
    if v.is_empty() {
        c.fail(field, "err-required");
        return None;
    }
    match v.parse::<i64>() {
        Ok(id) if id > 0 => Some(id),
        _ => {
            c.fail(field, "err-unknown-choice");
            None
        }
    }
}

/// What changes during an episode: the current primary substance and whether treatment goes on.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EpisodeUpdateForm {
    pub substance_current: String,
    #[serde(deserialize_with = "crate::validation::de_bool")]
    pub treatment_in_progress: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeUpdate {
    pub substance_current: Option<Substance>,
    pub treatment_in_progress: bool,
}

impl EpisodeUpdateForm {
    pub fn validate(&self) -> Result<EpisodeUpdate, Invalid> {
        let mut c = Checker::new();
        let substance_current = c.optional_code("substance_current", Some(&self.substance_current), Substance::parse);
        c.finish(|| EpisodeUpdate { substance_current, treatment_in_progress: self.treatment_in_progress })
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CloseEpisodeForm {
    pub end_date: String,
    pub closure: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeClose {
    pub end_date: NaiveDate,
    pub closure: EpisodeClosure,
}

impl CloseEpisodeForm {
    pub fn validate(&self, start: NaiveDate, today: NaiveDate) -> Result<EpisodeClose, Invalid> {
        let mut c = Checker::new();
        let end = c.required_date("end_date", &self.end_date);
        c.date_order("end_date", Some(start), end);
        if end.is_some_and(|e| e > today) {
            c.fail("end_date", "err-date-in-future");
        }
        let closure = c.required_code("closure", &self.closure, EpisodeClosure::parse);
        c.finish(|| EpisodeClose { end_date: end.unwrap_or(today), closure: closure.unwrap_or(EpisodeClosure::Altro) })
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TeamMemberForm {
    pub membership_id: String,
    /// The member's function in the team ("assistente sociale", "educatore", …).
    pub function: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTeamMember {
    pub membership_id: i64,
    pub function: String,
}

impl TeamMemberForm {
    pub fn validate(&self) -> Result<NewTeamMember, Invalid> {
        let mut c = Checker::new();
        let membership_id = parse_id(&mut c, "membership_id", &self.membership_id);
        let function = c.required_text("function", &self.function, 80);
        c.finish(|| NewTeamMember { membership_id: membership_id.unwrap_or_default(), function })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    #[test]
    fn episode_needs_start_and_case_manager() {
        let err = EpisodeForm::default().validate(today()).unwrap_err();
        assert!(err.has("start_date") && err.has("case_manager_id"));
        let ok = EpisodeForm {
            start_date: "2026-01-10".into(),
            case_manager_id: "3".into(),
            substance_start: "eroina".into(),
            ..Default::default()
        }
        .validate(today())
        .unwrap();
        assert_eq!(ok.substance_start, Some(Substance::Eroina));
        assert_eq!(ok.substance_current, None);
    }

    #[test]
    fn episode_cannot_start_in_the_future() {
        let f = EpisodeForm { start_date: "2027-01-01".into(), case_manager_id: "1".into(), ..Default::default() };
        assert_eq!(f.validate(today()).unwrap_err().0[0].key, "err-date-in-future");
    }

    #[test]
    fn closing_before_opening_is_refused() {
        let start = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let f = CloseEpisodeForm { end_date: "2026-02-01".into(), closure: "abbandono".into() };
        assert_eq!(f.validate(start, today()).unwrap_err().0[0].key, "err-end-before-start");
        let f = CloseEpisodeForm { end_date: "2026-04-01".into(), closure: "fuga".into() };
        assert_eq!(f.validate(start, today()).unwrap_err().0[0].key, "err-unknown-code");
    }

    #[test]
    fn team_member_needs_a_function() {
        let err = TeamMemberForm { membership_id: "x".into(), function: " ".into() }.validate().unwrap_err();
        assert!(err.has("membership_id") && err.has("function"));
    }
}
