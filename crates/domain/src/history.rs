//! Historical programmes imported from spreadsheets: one CSV row per intervention, with the
//! person's pseudonymous code and the results as levels (the data dictionary is
//! `docs/import-format.md`). This module checks one row; the service checks the file.

use crate::codes::{Education, Sex, Substance, WorkHistory};
use crate::instrument::{AutonomyChange, Band};
use crate::intervention::{ContractKind, InterruptionReason, OverallEvaluation, PositiveOutcome};
use crate::programme::InterventionType;
use crate::report::Ending;
use crate::validation::{Checker, FieldError};
use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};

/// Every column the format knows, in the documented order.
pub const COLUMNS: [&str; 28] = [
    "id_intervento",
    "codice_persona",
    "ente",
    "tipo_intervento",
    "data_inizio",
    "data_fine",
    "ente_ospitante",
    "importo_mensile",
    "sesso",
    "anno_nascita",
    "titolo_studio",
    "storia_lavorativa",
    "sostanza_inizio",
    "sostanza_attuale",
    "ricadute",
    "uso_sostanze_legali",
    "uso_sostanze_illegali",
    "esito",
    "tipo_esito_positivo",
    "motivo_interruzione",
    "motivo_interruzione_testo",
    "contratto",
    "valutazione",
    "sezione_a",
    "sezione_b",
    "sezione_c",
    "autonomia_pre",
    "autonomia_post",
];

/// Columns a file must have (the others may be left out entirely).
pub const REQUIRED: [&str; 5] = ["id_intervento", "codice_persona", "ente", "tipo_intervento", "data_inizio"];

/// An optional column that replaces the two autonomy scores when only the change is known.
pub const AUTONOMY_CHANGE: &str = "variazione_autonomia";

#[derive(Debug, Clone, PartialEq)]
pub struct HistoricalRow {
    pub external_ref: String,
    pub person_code: String,
    pub organisation: String,
    pub host: Option<String>,
    pub kind: InterventionType,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub monthly_amount_cents: Option<i64>,
    pub sex: Option<Sex>,
    pub birth_year: Option<i64>,
    pub education: Option<Education>,
    pub work_history: Option<WorkHistory>,
    pub substance_start: Option<Substance>,
    pub substance_current: Option<Substance>,
    pub relapses: Option<i64>,
    pub legal_use: Option<bool>,
    pub illegal_use: Option<bool>,
    pub ending: Option<Ending>,
    pub interruption_text: Option<String>,
    pub contract: Option<ContractKind>,
    pub evaluation: Option<OverallEvaluation>,
    pub bands: [Option<Band>; 3],
    pub autonomy_pre: Option<i64>,
    pub autonomy_post: Option<i64>,
    pub autonomy_change: Option<AutonomyChange>,
    /// Identifies the row's content as parsed (dates, amounts and codes in canonical form), so
    /// a re-import can tell "already there" from "changed" even after a spreadsheet rewrote
    /// `2011-01-15` as `15/01/2011` or `300` as `300,00`.
    pub hash: String,
    /// The digest of the raw cells used before content hashes were canonical: rows imported
    /// then are still recognised.
    pub raw_hash: String,
}

impl HistoricalRow {
    fn with_hash(mut self) -> Self {
        self.hash = format!("v2:{}", hex::encode(Sha256::digest(self.canonical().as_bytes())));
        self
    }

    /// One canonical text per column, in the documented order.
    fn canonical(&self) -> String {
        fn opt<T>(v: &Option<T>, f: impl Fn(&T) -> String) -> String {
            v.as_ref().map(f).unwrap_or_default()
        }
        let date = |d: &NaiveDate| d.format("%Y-%m-%d").to_string();
        let yes_no = |b: &bool| if *b { "si".to_string() } else { "no".to_string() };
        let (outcome, positive, interruption) = Ending::columns(self.ending);
        let cells = [
            self.external_ref.clone(),
            self.person_code.clone(),
            self.organisation.clone(),
            self.kind.code().to_string(),
            date(&self.start),
            opt(&self.end, date),
            opt(&self.host, String::clone),
            opt(&self.monthly_amount_cents, i64::to_string),
            opt(&self.sex, |v| v.code().to_string()),
            opt(&self.birth_year, i64::to_string),
            opt(&self.education, |v| v.code().to_string()),
            opt(&self.work_history, |v| v.code().to_string()),
            opt(&self.substance_start, |v| v.code().to_string()),
            opt(&self.substance_current, |v| v.code().to_string()),
            opt(&self.relapses, i64::to_string),
            opt(&self.legal_use, yes_no),
            opt(&self.illegal_use, yes_no),
            outcome.unwrap_or_default().to_string(),
            positive.unwrap_or_default().to_string(),
            interruption.unwrap_or_default().to_string(),
            opt(&self.interruption_text, String::clone),
            opt(&self.contract, |v| v.code().to_string()),
            opt(&self.evaluation, |v| v.code().to_string()),
            opt(&self.bands[0], |v| v.code().to_string()),
            opt(&self.bands[1], |v| v.code().to_string()),
            opt(&self.bands[2], |v| v.code().to_string()),
            opt(&self.autonomy_pre, i64::to_string),
            opt(&self.autonomy_post, i64::to_string),
            opt(&self.autonomy_change, |v| v.code().to_string()),
        ];
        cells.join("\u{1f}")
    }
}

fn flag(c: &mut Checker, field: &'static str, raw: &str) -> Option<bool> {
    match raw.trim().to_lowercase().as_str() {
        "" => None,
        "si" | "sì" => Some(true),
        "no" => Some(false),
        v => {
            c.push(FieldError::new(field, "err-yes-no").arg("value", v));
            None
        }
    }
}

fn number(c: &mut Checker, field: &'static str, raw: &str, min: i64, max: i64) -> Option<i64> {
    let v = raw.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            c.push(
                FieldError::new(field, "err-number-range")
                    .arg("value", v)
                    .arg("min", min.to_string())
                    .arg("max", max.to_string()),
            );
            None
        }
    }
}

/// The autonomy section's total runs from 6 (six items at their lowest) to 24.
pub const AUTONOMY_SCORE: (i64, i64) = (6, 24);

/// A code column, whatever its case (`SI`, `Positivo`, `m` are read as `si`, `positivo`, `M`),
/// blank for unknown.
fn code<T>(c: &mut Checker, field: &'static str, raw: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
    let v = raw.trim();
    if v.is_empty() {
        return None;
    }
    match parse(v).or_else(|| parse(&v.to_lowercase())).or_else(|| parse(&v.to_uppercase())) {
        Some(t) => Some(t),
        None => c.optional_code(field, Some(v), parse),
    }
}

fn required<T>(c: &mut Checker, field: &'static str, raw: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
    if raw.trim().is_empty() {
        c.fail(field, "err-required");
        return None;
    }
    code(c, field, raw, parse)
}

fn code_text(c: &mut Checker, field: &'static str, raw: &str) -> String {
    let v = c.required_text(field, raw, 64);
    if !v.is_empty() && !v.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_./".contains(ch)) {
        c.push(FieldError::new(field, "err-code-chars").arg("value", v.as_str()));
    }
    v
}

/// Checks one row. `get` returns a column's raw value ("" when the column is absent).
pub fn parse_row<'a>(get: impl Fn(&str) -> &'a str, today: NaiveDate) -> Result<HistoricalRow, Vec<FieldError>> {
    let mut c = Checker::new();
    let external_ref = code_text(&mut c, "id_intervento", get("id_intervento"));
    let person_code = code_text(&mut c, "codice_persona", get("codice_persona"));
    let organisation = c.required_text("ente", get("ente"), 160);
    let host = c.optional_text("ente_ospitante", Some(get("ente_ospitante")), 160);
    let kind = required(&mut c, "tipo_intervento", get("tipo_intervento"), InterventionType::parse);
    let start = c.required_date("data_inizio", get("data_inizio"));
    let end = c.optional_date("data_fine", Some(get("data_fine")));
    c.date_order("data_fine", start, end);
    for (field, d) in [("data_inizio", start), ("data_fine", end)] {
        if d.is_some_and(|d| d > today) {
            c.fail(field, "err-date-in-future");
        }
    }
    let amount = get("importo_mensile").trim();
    let monthly_amount_cents = if amount.is_empty() {
        None
    } else {
        match crate::money::parse_euros(amount) {
            Some(v) if v >= 0 => Some(v),
            _ => {
                c.push(FieldError::new("importo_mensile", "err-amount").arg("value", amount));
                None
            }
        }
    };
    let sex = code(&mut c, "sesso", get("sesso"), Sex::parse);
    let birth_year = number(&mut c, "anno_nascita", get("anno_nascita"), 1900, i64::from(today.year()) - 14);
    let education = code(&mut c, "titolo_studio", get("titolo_studio"), Education::parse);
    let work_history = code(&mut c, "storia_lavorativa", get("storia_lavorativa"), WorkHistory::parse);
    let substance_start = code(&mut c, "sostanza_inizio", get("sostanza_inizio"), Substance::parse);
    let substance_current = code(&mut c, "sostanza_attuale", get("sostanza_attuale"), Substance::parse);
    let relapses = number(&mut c, "ricadute", get("ricadute"), 0, 10_000);
    let legal_use = flag(&mut c, "uso_sostanze_legali", get("uso_sostanze_legali"));
    let illegal_use = flag(&mut c, "uso_sostanze_illegali", get("uso_sostanze_illegali"));
    let outcome = get("esito").trim().to_lowercase();
    let ending = match outcome.as_str() {
        "" => {
            for field in ["tipo_esito_positivo", "motivo_interruzione", "contratto", "valutazione"] {
                if !get(field).trim().is_empty() {
                    c.push(FieldError::new("esito", "err-required-with").arg("other", field));
                }
            }
            None
        }
        // A positive ending has no interruption reason, an interrupted one no positive kind:
        // a row with both contradicts itself and is refused, not silently half-read.
        "positivo" => {
            for field in ["motivo_interruzione", "motivo_interruzione_testo"] {
                if !get(field).trim().is_empty() {
                    c.push(FieldError::new(field, "err-contradicts-outcome").arg("outcome", "positivo"));
                }
            }
            required(&mut c, "tipo_esito_positivo", get("tipo_esito_positivo"), PositiveOutcome::parse)
                .map(Ending::Positive)
        }
        "interrotto" => {
            for field in ["tipo_esito_positivo", "contratto"] {
                if !get(field).trim().is_empty() {
                    c.push(FieldError::new(field, "err-contradicts-outcome").arg("outcome", "interrotto"));
                }
            }
            required(&mut c, "motivo_interruzione", get("motivo_interruzione"), InterruptionReason::parse)
                .map(Ending::Interrupted)
        }
        v => {
            c.push(FieldError::new("esito", "err-unknown-code").arg("value", v));
            None
        }
    };
    let interruption_text = c.optional_text("motivo_interruzione_testo", Some(get("motivo_interruzione_testo")), 500);
    if ending == Some(Ending::Interrupted(InterruptionReason::Altro)) && interruption_text.is_none() {
        c.fail("motivo_interruzione_testo", "err-other-needs-text");
    }
    if !outcome.is_empty() && end.is_none() && start.is_some() {
        c.fail("data_fine", "err-required");
    }
    // An end date says the intervention ended: its outcome must be said too, or it would be
    // counted as still running.
    if outcome.is_empty() && end.is_some() {
        c.push(FieldError::new("esito", "err-required-with").arg("other", "data_fine"));
    }
    let contract = code(&mut c, "contratto", get("contratto"), ContractKind::parse);
    let evaluation = code(&mut c, "valutazione", get("valutazione"), OverallEvaluation::parse);
    let bands = [
        code(&mut c, "sezione_a", get("sezione_a"), Band::parse),
        code(&mut c, "sezione_b", get("sezione_b"), Band::parse),
        code(&mut c, "sezione_c", get("sezione_c"), Band::parse),
    ];
    let (low, high) = AUTONOMY_SCORE;
    let autonomy_pre = number(&mut c, "autonomia_pre", get("autonomia_pre"), low, high);
    let autonomy_post = number(&mut c, "autonomia_post", get("autonomia_post"), low, high);
    let autonomy_change = code(&mut c, AUTONOMY_CHANGE, get(AUTONOMY_CHANGE), AutonomyChange::parse);
    let mut hasher = Sha256::new();
    for col in COLUMNS.iter().chain([&AUTONOMY_CHANGE]) {
        hasher.update(get(col).trim().as_bytes());
        hasher.update([0x1f]);
    }
    let raw_hash = hex::encode(hasher.finalize());
    c.finish(|| ()).map_err(|e| e.0)?;
    match (kind, start) {
        (Some(kind), Some(start)) => Ok(HistoricalRow::with_hash(HistoricalRow {
            external_ref,
            person_code,
            organisation,
            host,
            kind,
            start,
            end,
            monthly_amount_cents,
            sex,
            birth_year,
            education,
            work_history,
            substance_start,
            substance_current,
            relapses,
            legal_use,
            illegal_use,
            ending,
            interruption_text,
            contract,
            evaluation,
            bands,
            autonomy_pre,
            autonomy_post,
            autonomy_change,
            hash: String::new(),
            raw_hash,
        })),
        _ => Err(vec![FieldError::new("data_inizio", "err-required")]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn row(pairs: &[(&str, &str)]) -> Result<HistoricalRow, Vec<FieldError>> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
        parse_row(|k| map.get(k).copied().unwrap_or(""), today)
    }

    const BASE: [(&str, &str); 5] = [
        ("id_intervento", "A-1"),
        ("codice_persona", "P001"),
        ("ente", "1-MS"),
        ("tipo_intervento", "socio_terapeutico"),
        ("data_inizio", "2011-03-01"),
    ];

    /// Issue 13: rows that would change what the tables mean are refused with the column named.
    #[test]
    fn contradictions_are_refused_with_the_column() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut r = BASE.to_vec();
            r.extend_from_slice(extra);
            row(&r).err().map(|e| e.iter().map(|f| (f.field, f.key)).collect::<Vec<_>>()).unwrap_or_default()
        };
        assert_eq!(with(&[("data_fine", "2011-09-30")]), vec![("esito", "err-required-with")], "ended, outcome unsaid");
        let positive = [("data_fine", "2011-09-30"), ("esito", "positivo"), ("tipo_esito_positivo", "completato")];
        assert_eq!(with(&positive), vec![]);
        let mut both = positive.to_vec();
        both.push(("motivo_interruzione", "ricaduta_dipendenza"));
        assert_eq!(with(&both), vec![("motivo_interruzione", "err-contradicts-outcome")]);
        let interrupted = [
            ("data_fine", "2011-09-30"),
            ("esito", "interrotto"),
            ("motivo_interruzione", "ricaduta_dipendenza"),
            ("tipo_esito_positivo", "completato"),
        ];
        assert_eq!(with(&interrupted), vec![("tipo_esito_positivo", "err-contradicts-outcome")]);
        assert_eq!(with(&[("autonomia_pre", "100")]), vec![("autonomia_pre", "err-number-range")], "a 6–24 score");
        assert_eq!(with(&[("autonomia_pre", "6"), ("autonomia_post", "24")]), vec![]);
        // Case does not matter in any code column; blank is unknown.
        assert_eq!(with(&[("sesso", "m"), ("uso_sostanze_legali", "SI"), ("titolo_studio", "")]), vec![]);
        let r = row(&[BASE.as_slice(), &[("tipo_intervento", "SOCIO_TERAPEUTICO")]].concat());
        assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn a_minimal_row_is_an_ongoing_intervention() {
        let r = row(&BASE).expect("valid");
        assert_eq!(r.kind, InterventionType::SocioTerapeutico);
        assert_eq!(r.ending, None);
        assert!(r.hash.starts_with("v2:") && r.hash.len() == 67, "{}", r.hash);
        assert_eq!(r.raw_hash.len(), 64);
    }

    #[test]
    fn a_spreadsheet_rewriting_dates_and_amounts_keeps_the_content_hash() {
        let mut original = BASE.to_vec();
        original.extend([
            ("importo_mensile", "300"),
            ("data_fine", "2011-09-30"),
            ("uso_sostanze_legali", "si"),
            ("esito", "positivo"),
            ("tipo_esito_positivo", "completato"),
        ]);
        let mut excel = BASE.to_vec();
        excel[4] = ("data_inizio", "01/03/2011");
        excel.extend([
            ("importo_mensile", "300,00"),
            ("data_fine", "30/09/2011"),
            ("uso_sostanze_legali", "Sì"),
            ("esito", "Positivo"),
            ("tipo_esito_positivo", "COMPLETATO"),
        ]);
        let (a, b) = (row(&original).expect("valid"), row(&excel).expect("valid"));
        assert_ne!(a.raw_hash, b.raw_hash, "the cells differ as text");
        assert_eq!(a.hash, b.hash, "the content is the same");
        let mut changed = original.clone();
        changed[4] = ("data_inizio", "2011-03-02");
        assert_ne!(row(&changed).expect("valid").hash, a.hash, "a different date is different content");
    }

    #[test]
    fn every_wrong_field_is_named() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("sesso", "X"),
            ("ricadute", "-1"),
            ("esito", "interrotto"),
            ("motivo_interruzione", "altro"),
            ("uso_sostanze_legali", "forse"),
            ("data_fine", "2010-01-01"),
        ]);
        let errors = row(&pairs).expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        for f in ["sesso", "ricadute", "motivo_interruzione_testo", "uso_sostanze_legali", "data_fine"] {
            assert!(fields.contains(&f), "{f} not reported in {fields:?}");
        }
    }

    #[test]
    fn an_outcome_needs_its_kind_and_an_end() {
        let mut pairs = BASE.to_vec();
        pairs.push(("esito", "positivo"));
        let errors = row(&pairs).expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["tipo_esito_positivo", "data_fine"]);
    }

    #[test]
    fn the_hash_changes_with_the_content() {
        let a = row(&BASE).expect("valid").hash;
        let mut pairs = BASE.to_vec();
        pairs.push(("sesso", "F"));
        assert_ne!(a, row(&pairs).expect("valid").hash);
    }
}
