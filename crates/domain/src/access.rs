//! Access and orientation (seed 003: informazione, consulenza, orientamento, assistenza nella
//! domanda, analisi preliminare): the first contact, recorded before — or instead of — taking
//! the person in charge, with what was offered and where the person was oriented.

use crate::episode::parse_id;
use crate::validation::{Checker, FieldError, Invalid};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

code_enum!(
    AccessChannel {
        Spontaneo => "spontaneo",
        InvioServizio => "invio_servizio",
        Familiari => "familiari",
        Altro => "altro",
    }
);

code_enum!(
    AccessService {
        Informazione => "informazione",
        Consulenza => "consulenza",
        Orientamento => "orientamento",
        AssistenzaDomanda => "assistenza_domanda",
    }
);

code_enum!(
    /// The preliminary analysis' conclusion.
    AccessOutcome {
        PresaInCarico => "presa_in_carico",
        OrientamentoAltroServizio => "orientamento_altro_servizio",
        SoloInformazione => "solo_informazione",
        NonDiCompetenza => "non_di_competenza",
    }
);

/// How long an access lets the organisation that recorded it see the person.
pub const ACCESS_VISIBLE_DAYS: i64 = 90;

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AccessForm {
    pub access_date: String,
    pub channel: String,
    /// Service codes separated by commas (a form sends them as repeated fields).
    pub services: String,
    pub outcome: String,
    /// The organisation the person was oriented to (with `orientamento_altro_servizio`).
    pub oriented_to: String,
    pub access_note: String,
    /// The page's checkboxes, one per service (added to `services`).
    #[serde(deserialize_with = "crate::validation::de_bool")]
    pub informazione: bool,
    #[serde(deserialize_with = "crate::validation::de_bool")]
    pub consulenza: bool,
    #[serde(deserialize_with = "crate::validation::de_bool")]
    pub orientamento: bool,
    #[serde(deserialize_with = "crate::validation::de_bool")]
    pub assistenza_domanda: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccess {
    pub date: NaiveDate,
    pub channel: AccessChannel,
    pub services: Vec<AccessService>,
    pub outcome: AccessOutcome,
    pub oriented_to: Option<i64>,
    pub note: Option<String>,
    pub visible_until: NaiveDate,
}

impl AccessForm {
    pub fn validate(&self, today: NaiveDate) -> Result<NewAccess, Invalid> {
        let mut c = Checker::new();
        let date = c.required_date("access_date", &self.access_date);
        if date.is_some_and(|d| d > today) {
            c.fail("access_date", "err-date-in-future");
        }
        let channel = c.required_code("channel", &self.channel, AccessChannel::parse);
        let mut services = Vec::new();
        let ticked = [
            (self.informazione, "informazione"),
            (self.consulenza, "consulenza"),
            (self.orientamento, "orientamento"),
            (self.assistenza_domanda, "assistenza_domanda"),
        ];
        let codes = self.services.split(',').chain(ticked.iter().filter(|(on, _)| *on).map(|(_, c)| *c));
        for code in codes.map(str::trim).filter(|s| !s.is_empty()) {
            match AccessService::parse(code) {
                Some(s) if !services.contains(&s) => services.push(s),
                Some(_) => {}
                None => c.push(FieldError::new("services", "err-unknown-code").arg("value", code)),
            }
        }
        if self.services.trim().is_empty() && !ticked.iter().any(|(on, _)| *on) {
            c.fail("services", "err-access-needs-service");
        }
        let outcome = c.required_code("outcome", &self.outcome, AccessOutcome::parse);
        let oriented_to = if self.oriented_to.trim().is_empty() {
            if outcome == Some(AccessOutcome::OrientamentoAltroServizio) {
                c.fail("oriented_to", "err-access-needs-service-named");
            }
            None
        } else {
            parse_id(&mut c, "oriented_to", &self.oriented_to)
        };
        let note = c.optional_text("access_note", Some(&self.access_note), 2000);
        c.finish(|| ())?;
        match (date, channel, outcome) {
            (Some(date), Some(channel), Some(outcome)) => Ok(NewAccess {
                date,
                channel,
                services,
                outcome,
                oriented_to,
                note,
                visible_until: date + Duration::days(ACCESS_VISIBLE_DAYS),
            }),
            _ => Err(Invalid::one("access_date", "err-required")),
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
    fn an_access_says_what_was_offered_and_where_the_person_was_oriented() {
        let today = day("2026-05-10");
        let f = AccessForm {
            access_date: "2026-05-02".into(),
            channel: "spontaneo".into(),
            services: "informazione,orientamento".into(),
            outcome: "orientamento_altro_servizio".into(),
            oriented_to: "7".into(),
            consulenza: true,
            ..Default::default()
        };
        let a = f.validate(today).expect("valid");
        assert_eq!(
            a.services,
            vec![AccessService::Informazione, AccessService::Orientamento, AccessService::Consulenza]
        );
        assert_eq!((a.oriented_to, a.visible_until), (Some(7), day("2026-07-31")));
        let nowhere = AccessForm { oriented_to: String::new(), ..f.clone() };
        assert!(nowhere.validate(today).expect_err("where to").has("oriented_to"));
        let nothing = AccessForm { services: String::new(), consulenza: false, access_date: "2026-06-01".into(), ..f };
        let e = nothing.validate(today).expect_err("invalid");
        assert!(e.has("services") && e.has("access_date"), "{e:?}");
    }
}
