//! Operator notes on a person's pathway: dated, owned by the organisation that wrote them, and
//! read only as far as their author chose — the care team, the organisation, or the author.

use crate::validation::{Checker, Invalid};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

code_enum!(
    /// Who may read a note, among those who see the person: `equipe` the writing
    /// organisation and the person's care team (whatever their organisation), `ente` the
    /// writing organisation, `autore` the author alone.
    NoteVisibility {
        Equipe => "equipe",
        Ente => "ente",
        Autore => "autore",
    }
);

/// The longest note kept: a page of text, not a file.
pub const MAX_NOTE: usize = 8000;

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NoteForm {
    pub note_date: String,
    /// `equipe`, `ente`, `autore`.
    pub visibility: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNote {
    pub date: NaiveDate,
    pub visibility: NoteVisibility,
    pub body: String,
}

impl NoteForm {
    /// A note is dated no later than `today` (it records what happened).
    pub fn validate(&self, today: NaiveDate) -> Result<NewNote, Invalid> {
        let mut c = Checker::new();
        let date = c.required_date("note_date", &self.note_date);
        if date.is_some_and(|d| d > today) {
            c.fail("note_date", "err-date-in-future");
        }
        let visibility = c.required_code("visibility", &self.visibility, NoteVisibility::parse);
        let body = c.required_text("body", &self.body, MAX_NOTE);
        c.finish(|| ())?;
        match (date, visibility) {
            (Some(date), Some(visibility)) => Ok(NewNote { date, visibility, body }),
            _ => Err(Invalid::one("note_date", "err-required")),
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
    fn a_note_needs_a_past_date_a_reader_and_text() {
        let today = day("2026-05-10");
        let ok = NoteForm { note_date: "2026-05-10".into(), visibility: "ente".into(), body: " Colloquio ".into() };
        let n = ok.validate(today).expect("valid");
        assert_eq!((n.visibility, n.body.as_str()), (NoteVisibility::Ente, "Colloquio"));
        let bad = NoteForm { note_date: "2026-05-11".into(), visibility: "tutti".into(), body: "  ".into() };
        let e = bad.validate(today).expect_err("invalid");
        assert!(e.has("note_date") && e.has("visibility") && e.has("body"), "{e:?}");
        let long = NoteForm { body: "x".repeat(MAX_NOTE + 1), ..ok };
        assert!(long.validate(today).expect_err("too long").has("body"));
    }
}
