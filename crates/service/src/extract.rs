//! The pseudonymised extract made k-anonymous (ADR 0014): on its quasi-identifiers (sex, age
//! class, organisation, start and end month) every row shares its values with at least k − 1
//! others, by generalising step by step (months → quarters → years, organisation → its kind,
//! age class → any) and leaving out the rows still alone; person codes are keyed per extract,
//! so rows of one person link within it but not with "già noto" nor with another extract.

use crate::reports::ExtractRow;
use hmac::{Hmac, Mac};
use rand::Rng;
use rustc_hash::FxHashMap;
use serde::Serialize;
use sha2::Sha256;

/// The smallest group of rows sharing the quasi-identifiers, by default.
pub const DEFAULT_K: usize = 5;

/// At most this share of rows may be left out at a generalisation level before the next,
/// coarser one is tried.
const MAX_LEFT_OUT: f64 = 0.05;

/// How far the quasi-identifiers were generalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Generalisation {
    /// Months and organisations as recorded.
    Months,
    Quarters,
    Years,
    /// Years, and the organisation's kind instead of its name.
    YearsAndKinds,
    /// Years, kinds, and no age class.
    YearsKindsNoAge,
}

const LEVELS: [Generalisation; 5] = [
    Generalisation::Months,
    Generalisation::Quarters,
    Generalisation::Years,
    Generalisation::YearsAndKinds,
    Generalisation::YearsKindsNoAge,
];

/// An extract as it leaves the system.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Extract {
    pub k: usize,
    pub generalisation: Generalisation,
    /// Rows left out because even generalised they were in a group smaller than k.
    pub left_out: usize,
    pub rows: Vec<ExtractRow>,
}

fn month_to(level: Generalisation, m: &Option<String>) -> Option<String> {
    let m = m.as_deref()?;
    Some(match level {
        Generalisation::Months => m.to_string(),
        Generalisation::Quarters => {
            let (y, mm) = m.split_once('-').unwrap_or((m, "01"));
            let q = (mm.parse::<u32>().unwrap_or(1).clamp(1, 12) - 1) / 3 + 1;
            format!("{y}-Q{q}")
        }
        _ => m.split('-').next().unwrap_or(m).to_string(),
    })
}

fn generalise(level: Generalisation, r: &ExtractRow) -> ExtractRow {
    let mut g = r.clone();
    g.start_month = month_to(level, &r.start_month);
    g.end_month = month_to(level, &r.end_month);
    if matches!(level, Generalisation::YearsAndKinds | Generalisation::YearsKindsNoAge) {
        g.organisation = "*".into();
    }
    if level == Generalisation::YearsKindsNoAge {
        g.age_class = None;
    }
    g
}

type Quasi = (Option<String>, Option<String>, String, String, Option<String>, Option<String>);

fn quasi(r: &ExtractRow) -> Quasi {
    (
        r.sex.clone(),
        r.age_class.clone(),
        r.organisation.clone(),
        r.organisation_kind.clone(),
        r.start_month.clone(),
        r.end_month.clone(),
    )
}

/// Generalises to the first level that leaves out at most 5% of rows (or the coarsest), then
/// leaves out the rows in groups smaller than `k`.
pub fn k_anonymous(rows: Vec<ExtractRow>, k: usize) -> (Generalisation, usize, Vec<ExtractRow>) {
    let k = k.max(1);
    let mut last = (Generalisation::Months, 0, Vec::new());
    for level in LEVELS {
        let general: Vec<ExtractRow> = rows.iter().map(|r| generalise(level, r)).collect();
        let mut sizes: FxHashMap<Quasi, usize> = FxHashMap::default();
        for r in &general {
            *sizes.entry(quasi(r)).or_default() += 1;
        }
        let kept: Vec<ExtractRow> = general.into_iter().filter(|r| sizes[&quasi(r)] >= k).collect();
        let left_out = rows.len() - kept.len();
        last = (level, left_out, kept);
        if left_out as f64 <= MAX_LEFT_OUT * rows.len() as f64 {
            break;
        }
    }
    last
}

/// Replaces network-wide person codes with codes keyed for this extract only.
pub fn rekey(rows: &mut [ExtractRow], installation_key: &[u8]) {
    let mut nonce = [0u8; 16];
    rand::rng().fill_bytes(&mut nonce);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(installation_key).expect("HMAC takes any key");
    mac.update(b"percorsi extract person code\0");
    mac.update(&nonce);
    for r in rows {
        let mut m = mac.clone();
        m.update(r.person_code.as_bytes());
        r.person_code = format!("E{}", hex::encode(&m.finalize().into_bytes()[..8]).to_uppercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(person: &str, org: &str, start: &str, sex: &str) -> ExtractRow {
        ExtractRow {
            person_code: person.into(),
            organisation: org.into(),
            organisation_kind: "ausl_serd".into(),
            intervention_type: "socio_terapeutico".into(),
            start_month: Some(start.into()),
            end_month: None,
            status: "attivo".into(),
            sex: Some(sex.into()),
            age_class: Some("30-39".into()),
            education: None,
            work_history: None,
            substance_start: None,
            substance_current: None,
            relapses: None,
            substance_use: None,
            outcome: None,
            contract_kind: None,
            evaluation: None,
            section_a: None,
            section_b: None,
            section_c: None,
            autonomy_change: None,
        }
    }

    #[test]
    fn every_kept_row_shares_its_quasi_identifiers_with_k_minus_one_others() {
        let mut rows = Vec::new();
        for i in 0..40 {
            rows.push(row(&format!("P{i}"), &format!("Ente {}", i % 4), &format!("2011-{:02}", i % 12 + 1), "M"));
        }
        let (level, left_out, kept) = k_anonymous(rows, 5);
        assert_ne!(level, Generalisation::Months, "40 rows over 4 bodies and 12 months need generalising");
        let mut sizes: FxHashMap<Quasi, usize> = FxHashMap::default();
        for r in &kept {
            *sizes.entry(quasi(r)).or_default() += 1;
        }
        assert!(sizes.values().all(|n| *n >= 5), "{sizes:?}");
        assert_eq!(kept.len() + left_out, 40);
        assert!(left_out <= 2);
    }

    #[test]
    fn months_become_quarters_then_years() {
        assert_eq!(month_to(Generalisation::Quarters, &Some("2011-05".into())).as_deref(), Some("2011-Q2"));
        assert_eq!(month_to(Generalisation::Years, &Some("2011-12".into())).as_deref(), Some("2011"));
        assert_eq!(month_to(Generalisation::Months, &None), None);
    }

    #[test]
    fn codes_link_within_an_extract_and_not_across() {
        let mut a =
            vec![row("P1", "x", "2011-01", "M"), row("P1", "x", "2011-02", "M"), row("P2", "x", "2011-01", "F")];
        let mut b = a.clone();
        rekey(&mut a, b"key");
        rekey(&mut b, b"key");
        assert_eq!(a[0].person_code, a[1].person_code);
        assert_ne!(a[0].person_code, a[2].person_code);
        assert_ne!(a[0].person_code, b[0].person_code, "another extract, other codes");
        assert!(a[0].person_code.starts_with('E') && !a[0].person_code.contains("P1"));
    }
}
