//! The household (nucleo) in the multidimensional assessment (seed 003: the presa in carico
//! is "sulla persona/nucleo"): who the person lives with, how many, how many minors.

use crate::validation::{Checker, FieldError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

code_enum!(
    HouseholdKind {
        ViveSolo => "vive_solo",
        Coppia => "coppia",
        CoppiaConFigli => "coppia_con_figli",
        MonogenitoreConFigli => "monogenitore_con_figli",
        FamigliaDiOrigine => "famiglia_di_origine",
        AltraConvivenza => "altra_convivenza",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Household {
    pub kind: HouseholdKind,
    /// People in the household, the person included.
    pub members: u8,
    pub minors: u8,
    /// Resources and difficulties of the household, in a few words.
    pub note: Option<String>,
}

const FIELDS: [&str; 4] = ["household_kind", "household_members", "household_minors", "household_note"];

/// Reads the household part of an assessment form: absent when all its fields are blank,
/// otherwise complete and coherent (living alone is one person and no minors; the minors are
/// fewer than the members).
pub fn parse_household(raw: &BTreeMap<String, String>, c: &mut Checker) -> Option<Household> {
    let get = |k: &str| raw.get(k).map(|v| v.trim()).unwrap_or("");
    if FIELDS.iter().all(|f| get(f).is_empty()) {
        return None;
    }
    let kind = c.required_code("household_kind", get("household_kind"), HouseholdKind::parse);
    let mut count = |field: &'static str, min: u8| match get(field).parse::<u8>() {
        Ok(n) if (min..=30).contains(&n) => Some(n),
        _ if get(field).is_empty() => {
            c.fail(field, "err-required");
            None
        }
        _ => {
            c.push(FieldError::new(field, "err-household-count").arg("min", min.to_string()));
            None
        }
    };
    let members = count("household_members", 1);
    let minors = count("household_minors", 0);
    let note = c.optional_text("household_note", Some(get("household_note")), 1000);
    let (kind, members, minors) = (kind?, members?, minors?);
    if kind == HouseholdKind::ViveSolo && (members != 1 || minors != 0) {
        c.fail("household_members", "err-household-alone");
        return None;
    }
    if kind != HouseholdKind::ViveSolo && members < 2 {
        c.fail("household_members", "err-household-with-others");
        return None;
    }
    if minors >= members {
        c.fail("household_minors", "err-household-minors");
        return None;
    }
    Some(Household { kind, members, minors, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_household_is_absent_or_complete_and_coherent() {
        let mut c = Checker::new();
        assert_eq!(parse_household(&form(&[]), &mut c), None);
        assert!(c.finish(|| ()).is_ok(), "blank means not assessed");
        let mut c = Checker::new();
        let h = parse_household(
            &form(&[
                ("household_kind", "monogenitore_con_figli"),
                ("household_members", "3"),
                ("household_minors", "2"),
            ]),
            &mut c,
        );
        assert_eq!(h.map(|h| (h.kind, h.members, h.minors)), Some((HouseholdKind::MonogenitoreConFigli, 3, 2)));
        for (pairs, field) in [
            (
                vec![("household_kind", "vive_solo"), ("household_members", "2"), ("household_minors", "0")],
                "household_members",
            ),
            (
                vec![("household_kind", "coppia"), ("household_members", "1"), ("household_minors", "0")],
                "household_members",
            ),
            (
                vec![("household_kind", "coppia_con_figli"), ("household_members", "3"), ("household_minors", "3")],
                "household_minors",
            ),
            (
                vec![("household_kind", "coppia"), ("household_members", "tanti"), ("household_minors", "0")],
                "household_members",
            ),
            (vec![("household_members", "2"), ("household_minors", "0")], "household_kind"),
        ] {
            let mut c = Checker::new();
            assert_eq!(parse_household(&form(&pairs), &mut c), None, "{pairs:?}");
            assert!(c.finish(|| ()).expect_err("refused").has(field), "{pairs:?} names {field}");
        }
    }
}
