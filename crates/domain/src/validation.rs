//! Validation errors that name the field and carry a message key, so the web layer can say
//! "Codice fiscale: il carattere di controllo non è corretto" in Italian or English.

use chrono::NaiveDate;
use serde::Serialize;

/// One problem with one input field. `key` is a Fluent message id (`err-…`), `args` its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: &'static str, key: &'static str) -> Self {
        FieldError { field, key, args: Vec::new() }
    }

    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }
}

/// A rejected input: every field error found, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{} ({})", e.field, e.key)).collect::<Vec<_>>().join(", "))]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(field: &'static str, key: &'static str) -> Self {
        Invalid(vec![FieldError::new(field, key)])
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }
}

/// Collects field errors while a form is parsed, then yields either the value or all errors.
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, e: FieldError) {
        self.errors.push(e);
    }

    pub fn fail(&mut self, field: &'static str, key: &'static str) {
        self.errors.push(FieldError::new(field, key));
    }

    /// A trimmed, non-empty text no longer than `max` characters.
    pub fn required_text(&mut self, field: &'static str, raw: &str, max: usize) -> String {
        let v = raw.trim();
        if v.is_empty() {
            self.fail(field, "err-required");
        } else if v.chars().count() > max {
            self.push(FieldError::new(field, "err-too-long").arg("max", max.to_string()));
        }
        v.to_string()
    }

    /// An optional text: `None` when blank.
    pub fn optional_text(&mut self, field: &'static str, raw: Option<&str>, max: usize) -> Option<String> {
        let v = raw.map(str::trim).filter(|v| !v.is_empty())?;
        if v.chars().count() > max {
            self.push(FieldError::new(field, "err-too-long").arg("max", max.to_string()));
        }
        Some(v.to_string())
    }

    pub fn required_date(&mut self, field: &'static str, raw: &str) -> Option<NaiveDate> {
        let v = raw.trim();
        if v.is_empty() {
            self.fail(field, "err-required");
            return None;
        }
        self.parse_date(field, v)
    }

    pub fn optional_date(&mut self, field: &'static str, raw: Option<&str>) -> Option<NaiveDate> {
        let v = raw.map(str::trim).filter(|v| !v.is_empty())?;
        self.parse_date(field, v)
    }

    fn parse_date(&mut self, field: &'static str, v: &str) -> Option<NaiveDate> {
        // Accept the ISO form that <input type=date> sends and the Italian dd/mm/yyyy people type.
        let parsed = NaiveDate::parse_from_str(v, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(v, "%d/%m/%Y"));
        match parsed {
            Ok(d) if d.year_ok() => Some(d),
            _ => {
                self.push(FieldError::new(field, "err-date").arg("value", v));
                None
            }
        }
    }

    /// A value from a closed code list; blank means "not given".
    pub fn optional_code<T>(
        &mut self,
        field: &'static str,
        raw: Option<&str>,
        parse: fn(&str) -> Option<T>,
    ) -> Option<T> {
        let v = raw.map(str::trim).filter(|v| !v.is_empty())?;
        let parsed = parse(v);
        if parsed.is_none() {
            self.push(FieldError::new(field, "err-unknown-code").arg("value", v));
        }
        parsed
    }

    /// One of a few answers a form offers (e.g. accept or decline), by its code.
    pub fn required_choice<T: Copy>(&mut self, field: &'static str, raw: &str, options: &[(&str, T)]) -> Option<T> {
        match raw.trim() {
            "" => {
                self.fail(field, "err-required");
                None
            }
            v => match options.iter().find(|(code, _)| *code == v) {
                Some((_, value)) => Some(*value),
                None => {
                    self.push(FieldError::new(field, "err-unknown-code").arg("value", v));
                    None
                }
            },
        }
    }

    pub fn required_code<T>(&mut self, field: &'static str, raw: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
        if raw.trim().is_empty() {
            self.fail(field, "err-required");
            return None;
        }
        self.optional_code(field, Some(raw), parse)
    }

    /// Requires `end` to be on or after `start` when both are present.
    pub fn date_order(&mut self, end_field: &'static str, start: Option<NaiveDate>, end: Option<NaiveDate>) {
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                self.push(
                    FieldError::new(end_field, "err-end-before-start").arg("start", s.format("%d/%m/%Y").to_string()),
                );
            }
        }
    }

    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.errors.is_empty() {
            Ok(value())
        } else {
            Err(Invalid(self.errors))
        }
    }
}

trait YearOk {
    fn year_ok(&self) -> bool;
}

impl YearOk for NaiveDate {
    /// Dates outside 1900–2100 are typing mistakes in this domain, never real events.
    fn year_ok(&self) -> bool {
        use chrono::Datelike;
        (1900..=2100).contains(&self.year())
    }
}

/// Accepts a JSON boolean or the strings an HTML checkbox or a CSV sends ("on", "true", "1",
/// "false", "0", ""), so one form struct serves the UI, the API and the CLI.
pub fn de_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
            match v.trim() {
                "true" | "on" | "1" | "si" | "sì" | "yes" => Ok(true),
                "false" | "off" | "0" | "" | "no" => Ok(false),
                other => Err(E::custom(format!("not a boolean: {other:?}"))),
            }
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_error() {
        let mut c = Checker::new();
        c.required_text("surname", "  ", 10);
        c.required_date("start_date", "31/02/2024");
        c.optional_code("kind", Some("ospedale"), crate::codes::OrganisationKind::parse);
        let err = c.finish(|| ()).unwrap_err();
        assert_eq!(err.0.len(), 3);
        assert!(err.has("surname") && err.has("start_date") && err.has("kind"));
    }

    #[test]
    fn dates_in_both_forms_and_order() {
        let mut c = Checker::new();
        let s = c.required_date("start_date", "2024-03-01");
        let e = c.required_date("end_date", "01/02/2024");
        c.date_order("end_date", s, e);
        let err = c.finish(|| ()).unwrap_err();
        assert_eq!(err.0, vec![FieldError::new("end_date", "err-end-before-start").arg("start", "01/03/2024")]);
    }

    #[test]
    fn blank_optional_values_are_none() {
        let mut c = Checker::new();
        assert_eq!(c.optional_text("phone", Some("   "), 10), None);
        assert_eq!(c.optional_date("end_date", Some("")), None);
        assert!(c.finish(|| ()).is_ok());
    }

    #[derive(serde::Deserialize)]
    struct Flag {
        #[serde(deserialize_with = "de_bool")]
        on: bool,
    }

    #[test]
    fn checkbox_and_json_booleans() {
        let f: Flag = from_form_value("on=true");
        assert!(f.on);
        assert!(!from_form_value("on=").on);
        let j: Flag = serde_json::from_str(r#"{"on": true}"#).unwrap();
        assert!(j.on);
        assert!(serde_json::from_str::<Flag>(r#"{"on": "maybe"}"#).is_err());
    }

    fn from_form_value(s: &str) -> Flag {
        let (_, v) = s.split_once('=').unwrap();
        serde_json::from_value(serde_json::json!({ "on": v })).unwrap()
    }

    #[test]
    fn implausible_years_are_rejected() {
        let mut c = Checker::new();
        assert_eq!(c.required_date("birth_date", "0203-01-01"), None);
    }
}
