//! Referrals (segnalazione / invio): a person is referred to an organisation of the network —
//! by another organisation, or by themselves at the front desk — with the reason, the urgency
//! and, when known, the support asked for. The receiving organisation accepts or declines
//! with a reason. Referring shares nothing: the receiving organisation sees the person's
//! record only under the visibility rule (a consent recorded for it, an episode, the team).

use crate::episode::parse_id;
use crate::project::SupportKind;
use crate::validation::{de_bool, Checker, Invalid};
use serde::{Deserialize, Serialize};

code_enum!(
    Urgency {
        Ordinaria => "ordinaria",
        Urgente => "urgente",
        MoltoUrgente => "molto_urgente",
    }
);

code_enum!(
    ReferralStatus {
        Aperta => "aperta",
        Accettata => "accettata",
        Rifiutata => "rifiutata",
    }
);

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ReferralForm {
    /// The receiving organisation (ignored for a self-referral: it is the one registering it).
    pub to_organisation_id: String,
    /// A support code (optional).
    pub support: String,
    pub reason: String,
    /// `ordinaria`, `urgente`, `molto_urgente`.
    pub urgency: String,
    /// The person came by themselves (accesso spontaneo).
    #[serde(deserialize_with = "de_bool")]
    pub self_referral: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReferral {
    pub to_organisation_id: Option<i64>,
    pub support: Option<SupportKind>,
    pub reason: String,
    pub urgency: Urgency,
    pub self_referral: bool,
}

impl ReferralForm {
    pub fn validate(&self) -> Result<NewReferral, Invalid> {
        let mut c = Checker::new();
        let to =
            if self.self_referral { None } else { parse_id(&mut c, "to_organisation_id", &self.to_organisation_id) };
        let support = c.optional_code("support", Some(&self.support), SupportKind::parse);
        let reason = c.required_text("reason", &self.reason, 2000);
        let urgency = c.required_code("urgency", &self.urgency, Urgency::parse);
        c.finish(|| ())?;
        Ok(NewReferral {
            to_organisation_id: to,
            support,
            reason,
            urgency: urgency.unwrap_or(Urgency::Ordinaria),
            self_referral: self.self_referral,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DecisionForm {
    /// `accettata` or `rifiutata`.
    pub decision: String,
    /// Required when declining.
    pub reason: String,
}

impl DecisionForm {
    pub fn validate(&self) -> Result<(ReferralStatus, Option<String>), Invalid> {
        let mut c = Checker::new();
        let decision = c.required_choice(
            "decision",
            &self.decision,
            &[("accettata", ReferralStatus::Accettata), ("rifiutata", ReferralStatus::Rifiutata)],
        );
        let reason = c.optional_text("reason", Some(&self.reason), 2000);
        if decision == Some(ReferralStatus::Rifiutata) && reason.is_none() {
            c.fail("reason", "err-decline-needs-reason");
        }
        c.finish(|| ())?;
        Ok((decision.unwrap_or(ReferralStatus::Aperta), reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_referral_names_its_organisation_unless_the_person_came_alone() {
        let f = ReferralForm { reason: "casa".into(), urgency: "urgente".into(), ..Default::default() };
        let e = f.validate().expect_err("no organisation");
        assert_eq!(e.0[0].field, "to_organisation_id");
        let own = ReferralForm { self_referral: true, ..f.clone() }.validate().expect("self-referral");
        assert_eq!(own.to_organisation_id, None);
        let bad =
            ReferralForm { support: "magia".into(), urgency: "subito".into(), ..f }.validate().expect_err("codes");
        let fields: Vec<&str> = bad.0.iter().map(|e| e.field).collect();
        assert!(fields.contains(&"support") && fields.contains(&"urgency"), "{fields:?}");
    }

    #[test]
    fn declining_needs_a_reason() {
        let d = DecisionForm { decision: "rifiutata".into(), reason: " ".into() };
        assert_eq!(d.validate().expect_err("reason").0[0].key, "err-decline-needs-reason");
        let a = DecisionForm { decision: "accettata".into(), reason: String::new() };
        assert_eq!(a.validate().expect("ok").0, ReferralStatus::Accettata);
    }
}
