//! Transfer of a case (Primero's model): staff leave and people move, so a case passes to a
//! colleague of the same organisation (its case manager changes) or to another organisation
//! (which opens its own care episode while the sender's closes), always with a handover note
//! and only once the receiver accepts. Until then nothing changes and the receiver sees only
//! the handover.

use crate::episode::parse_id;
use crate::validation::{de_bool, Checker, Invalid};
use serde::{Deserialize, Serialize};

code_enum!(
    TransferStatus {
        Proposto => "proposto",
        Accettato => "accettato",
        Rifiutato => "rifiutato",
        Annullato => "annullato",
    }
);

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TransferForm {
    /// The receiving organisation (the sender's own for a colleague).
    pub to_organisation_id: String,
    /// The colleague who takes the case: required within the organisation, optional towards
    /// another one (its coordinator or case manager picks who).
    pub to_user_id: String,
    /// What the receiver needs to know to carry on.
    pub handover: String,
    /// The person agreed to move to another organisation.
    #[serde(deserialize_with = "de_bool")]
    pub person_agrees: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransfer {
    pub to_organisation_id: i64,
    pub to_user_id: Option<i64>,
    pub handover: String,
}

impl TransferForm {
    /// `own` is the sender's organisation.
    pub fn validate(&self, own: i64) -> Result<NewTransfer, Invalid> {
        let mut c = Checker::new();
        let to = parse_id(&mut c, "to_organisation_id", &self.to_organisation_id);
        let user = if self.to_user_id.trim().is_empty() {
            if to == Some(own) {
                c.fail("to_user_id", "err-transfer-needs-colleague");
            }
            None
        } else {
            parse_id(&mut c, "to_user_id", &self.to_user_id)
        };
        if to.is_some_and(|t| t != own) && !self.person_agrees {
            c.fail("person_agrees", "err-transfer-needs-agreement");
        }
        let handover = c.required_text("handover", &self.handover, 4000);
        c.finish(|| ())?;
        match to {
            Some(to_organisation_id) => Ok(NewTransfer { to_organisation_id, to_user_id: user, handover }),
            None => Err(Invalid::one("to_organisation_id", "err-required")),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TransferDecisionForm {
    /// `accettato` or `rifiutato`.
    pub decision: String,
    /// Who takes the case at the receiving organisation (when accepting from another one
    /// without a named colleague).
    pub case_manager_id: String,
    /// Required when declining.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferDecision {
    pub accept: bool,
    pub case_manager_id: Option<i64>,
    pub note: Option<String>,
}

impl TransferDecisionForm {
    pub fn validate(&self) -> Result<TransferDecision, Invalid> {
        let mut c = Checker::new();
        let accept = c.required_choice("decision", &self.decision, &[("accettato", true), ("rifiutato", false)]);
        let manager = if self.case_manager_id.trim().is_empty() {
            None
        } else {
            parse_id(&mut c, "case_manager_id", &self.case_manager_id)
        };
        let note = c.optional_text("note", Some(&self.note), 2000);
        if accept == Some(false) && note.is_none() {
            c.fail("note", "err-decline-needs-reason");
        }
        c.finish(|| ())?;
        Ok(TransferDecision { accept: accept.unwrap_or(false), case_manager_id: manager, note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_names_who_receives_and_what_they_need_to_know() {
        let to_colleague = TransferForm {
            to_organisation_id: "2".into(),
            to_user_id: "7".into(),
            handover: "Segue il gruppo".into(),
            ..Default::default()
        };
        assert_eq!(to_colleague.validate(2).expect("valid").to_user_id, Some(7));
        let nobody = TransferForm { to_user_id: String::new(), ..to_colleague.clone() };
        assert!(nobody.validate(2).expect_err("colleague").has("to_user_id"));
        let elsewhere =
            TransferForm { to_organisation_id: "5".into(), to_user_id: String::new(), ..to_colleague.clone() };
        assert!(elsewhere.validate(2).expect_err("agreement").has("person_agrees"));
        let agreed = TransferForm { person_agrees: true, ..elsewhere };
        assert_eq!(agreed.validate(2).expect("valid").to_user_id, None);
        let silent = TransferForm { handover: " ".into(), ..to_colleague };
        assert!(silent.validate(2).expect_err("handover").has("handover"));
    }

    #[test]
    fn declining_needs_a_reason() {
        let d = TransferDecisionForm { decision: "rifiutato".into(), ..Default::default() };
        assert!(d.validate().expect_err("reason").has("note"));
        let a =
            TransferDecisionForm { decision: "accettato".into(), case_manager_id: "3".into(), ..Default::default() };
        assert_eq!(
            a.validate().expect("valid"),
            TransferDecision { accept: true, case_manager_id: Some(3), note: None }
        );
    }
}
