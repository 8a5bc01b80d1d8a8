//! Outcome monitoring (seed 001): the compact per-intervention fact the reports are computed
//! from, the filters, and the fourteen tables. Everything here works on plain values, so the
//! same numbers come out of the web page, the API, the CLI and the exports.

pub mod compare;
pub mod grid;
mod tables;

use crate::codes::{Education, OrganisationKind, Sex, Substance, WorkHistory};
use crate::instrument::{AutonomyChange, Band};
use crate::intervention::{ContractKind, InterruptionReason, OverallEvaluation, PositiveOutcome};
use crate::programme::InterventionType;
use chrono::{Datelike, NaiveDate};
pub use grid::{Cell, Grid, Label, Line, Percent, Role};
use serde::{Deserialize, Serialize};
pub use tables::{build, TABLES};

code_enum!(
    /// Age at the start of the intervention.
    AgeClass {
        Fino29 => "fino_29",
        Da30a39 => "30_39",
        Da40a49 => "40_49",
        Oltre50 => "50_oltre",
    }
);

code_enum!(
    /// Relapse episodes during the intervention, as seed 001 groups them.
    RelapseBucket {
        Nessuna => "nessuna",
        Da1a3 => "1_3",
        Da4a10 => "4_10",
        Oltre11 => "11_oltre",
    }
);

impl AgeClass {
    pub fn of(birth_year: i64, at: NaiveDate) -> Option<AgeClass> {
        let age = i64::from(at.year()) - birth_year;
        Some(match age {
            ..=13 => return None,
            14..=29 => AgeClass::Fino29,
            30..=39 => AgeClass::Da30a39,
            40..=49 => AgeClass::Da40a49,
            _ => AgeClass::Oltre50,
        })
    }
}

impl RelapseBucket {
    pub fn of(count: i64) -> RelapseBucket {
        match count {
            ..=0 => RelapseBucket::Nessuna,
            1..=3 => RelapseBucket::Da1a3,
            4..=10 => RelapseBucket::Da4a10,
            _ => RelapseBucket::Oltre11,
        }
    }
}

/// How an intervention ended, in seed 001's new classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ending {
    Positive(PositiveOutcome),
    Interrupted(InterruptionReason),
}

impl Ending {
    /// The stored columns: `outcome` (`positivo`/`interrotto`), `positive_kind`, `interruption_reason`.
    pub fn columns(ending: Option<Ending>) -> (Option<&'static str>, Option<&'static str>, Option<&'static str>) {
        match ending {
            Some(Ending::Positive(p)) => (Some("positivo"), Some(p.code()), None),
            Some(Ending::Interrupted(r)) => (Some("interrotto"), None, Some(r.code())),
            None => (None, None, None),
        }
    }

    /// `positivo:completato`, `interrotto:altro`: one code for exports.
    pub fn code(self) -> String {
        match self {
            Ending::Positive(p) => format!("positivo:{}", p.code()),
            Ending::Interrupted(r) => format!("interrotto:{}", r.code()),
        }
    }
}

/// One intervention as the reports see it: no identity, only the classified values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    pub intervention_id: i64,
    /// The person (0 when not known): table 2 counts each person once.
    pub person_id: i64,
    pub programme_id: i64,
    pub organisation_id: i64,
    pub kind: InterventionType,
    /// Actual start; `None` while the intervention has not been activated (not reported).
    pub start: Option<NaiveDate>,
    /// Actual end, once it ended (concluded or interrupted).
    pub end: Option<NaiveDate>,
    pub sex: Option<Sex>,
    pub age: Option<AgeClass>,
    pub education: Option<Education>,
    pub work_history: Option<WorkHistory>,
    pub substance_start: Option<Substance>,
    pub substance_current: Option<Substance>,
    pub relapses: Option<RelapseBucket>,
    /// At least one legal or illegal substance used during the intervention.
    pub substance_use: Option<bool>,
    pub ending: Option<Ending>,
    pub contract: Option<ContractKind>,
    pub evaluation: Option<OverallEvaluation>,
    pub section_a: Option<Band>,
    pub section_b: Option<Band>,
    pub section_c: Option<Band>,
    pub autonomy: Option<AutonomyChange>,
    /// The record's secret key for disclosure control (0–255, derived from the installation
    /// key and the intervention; set when the fact enters the report cache).
    pub key: u8,
}

impl Fact {
    /// An intervention of a programme and organisation with nothing classified yet (not
    /// started, no person attributes): the base a fact is filled from.
    pub fn unclassified(intervention_id: i64, programme_id: i64, organisation_id: i64, kind: InterventionType) -> Fact {
        Fact {
            intervention_id,
            person_id: 0,
            end: None,
            programme_id,
            organisation_id,
            kind,
            start: None,
            sex: None,
            age: None,
            education: None,
            work_history: None,
            substance_start: None,
            substance_current: None,
            relapses: None,
            substance_use: None,
            ending: None,
            contract: None,
            evaluation: None,
            section_a: None,
            section_b: None,
            section_c: None,
            autonomy: None,
            key: 0,
        }
    }
}

/// An organisation as the reports group it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub id: i64,
    pub name: String,
    pub kind: OrganisationKind,
}

/// Where the columns of the "by organisation kind" tables come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    #[default]
    Kind,
    Organisation,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Interventions that started on or after this day.
    pub from: Option<NaiveDate>,
    /// … and on or before this day.
    pub to: Option<NaiveDate>,
    /// Empty: every organisation the viewer may see.
    pub organisations: Vec<i64>,
    pub kind: Option<OrganisationKind>,
    pub intervention_type: Option<InterventionType>,
}

impl Filter {
    pub fn matches(&self, f: &Fact, unit: &Unit) -> bool {
        let Some(start) = f.start else { return false };
        self.from.is_none_or(|d| start >= d)
            && self.to.is_none_or(|d| start <= d)
            && (self.organisations.is_empty() || self.organisations.contains(&f.organisation_id))
            && self.kind.is_none_or(|k| unit.kind == k)
            && self.intervention_type.is_none_or(|t| f.kind == t)
    }

    pub fn includes_unit(&self, unit: &Unit) -> bool {
        (self.organisations.is_empty() || self.organisations.contains(&unit.id))
            && self.kind.is_none_or(|k| unit.kind == k)
    }
}

/// The money side of the headline table, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub allocated: i64,
    /// Committed and not yet paid nor freed.
    pub committed: i64,
    pub paid: i64,
    pub available: i64,
    /// Released by interventions that ended early.
    pub freed: i64,
    /// Commitments beyond the allocation, only possible because freed money was committed again.
    pub reused: i64,
}

impl Budget {
    pub fn of(b: &crate::ledger::Balance) -> Budget {
        Budget {
            allocated: b.budget,
            committed: b.outstanding(),
            paid: b.paid,
            available: b.available(),
            freed: b.released,
            reused: (b.committed_total - b.budget).clamp(0, b.released),
        }
    }
}

/// What the report is computed over: the facts already filtered to the viewer's scope.
pub struct Input<'a> {
    pub facts: Vec<&'a Fact>,
    /// Every organisation shown, in report order.
    pub units: Vec<Unit>,
    /// Planned interventions per (organisation, type).
    pub planned: Vec<(i64, InterventionType, i64)>,
    pub budget: Budget,
    pub by: GroupBy,
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub number: u8,
    /// `t01`…`t14`: file names and message ids derive from it.
    pub code: String,
    pub grids: Vec<Grid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tables: Vec<Table>,
    /// Interventions counted (activated, within the filters).
    /// Interventions counted; `None` when protected and fewer than 5.
    pub interventions: Option<u64>,
    /// The people they concern (table 2 describes them); `None` when protected and fewer than 5.
    pub persons: Option<u64>,
    pub suppressed: bool,
}

impl Report {
    pub fn table(&self, number: u8) -> Option<&Table> {
        self.tables.iter().find(|t| t.number == number)
    }
}

/// Orders names as people number them: "2-LU" before "10-FI".
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(s: &str) -> (u64, &str) {
        let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
        (s[..digits].parse().unwrap_or(u64::MAX), &s[digits..])
    }
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// Position + 1 of a value in its code list, 0 when missing: the packed form of one dimension.
fn slot<T: PartialEq>(all: &[T], v: Option<T>) -> i64 {
    v.and_then(|v| all.iter().position(|x| *x == v)).map_or(0, |p| p as i64 + 1)
}

fn unslot<T: Copy>(all: &[T], n: i64) -> Option<T> {
    usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| all.get(i).copied())
}

/// Every ending in one list, so an ending packs into one dimension.
fn endings() -> Vec<Ending> {
    PositiveOutcome::ALL
        .iter()
        .map(|p| Ending::Positive(*p))
        .chain(InterruptionReason::ALL.iter().map(|r| Ending::Interrupted(*r)))
        .collect()
}

/// Bits per dimension in `Fact::profile`, in packing order (45 of 63 bits used).
const PROFILE_BITS: [u32; 16] = [2, 2, 3, 3, 3, 4, 4, 3, 2, 5, 3, 3, 2, 2, 2, 2];

impl Fact {
    /// The classified values packed into one integer (each dimension is its position in the
    /// code list plus one, zero when missing), so the extract loads as a few numbers per row.
    /// Code lists only ever grow at the end; a change of layout means rebuilding the extract.
    pub fn profile(&self) -> i64 {
        let use_slot = match self.substance_use {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        };
        let dims = [
            slot(InterventionType::ALL, Some(self.kind)),
            slot(Sex::ALL, self.sex),
            slot(AgeClass::ALL, self.age),
            slot(Education::ALL, self.education),
            slot(WorkHistory::ALL, self.work_history),
            slot(Substance::ALL, self.substance_start),
            slot(Substance::ALL, self.substance_current),
            slot(RelapseBucket::ALL, self.relapses),
            use_slot,
            slot(&endings(), self.ending),
            slot(ContractKind::ALL, self.contract),
            slot(OverallEvaluation::ALL, self.evaluation),
            slot(Band::ALL, self.section_a),
            slot(Band::ALL, self.section_b),
            slot(Band::ALL, self.section_c),
            slot(AutonomyChange::ALL, self.autonomy),
        ];
        let mut packed = 0i64;
        let mut shift = 0;
        for (v, bits) in dims.iter().zip(PROFILE_BITS) {
            packed |= v << shift;
            shift += bits;
        }
        packed
    }

    /// The inverse of `profile`; `None` when the intervention type does not decode.
    pub fn unpack(
        intervention_id: i64,
        programme_id: i64,
        organisation_id: i64,
        start: Option<NaiveDate>,
        profile: i64,
    ) -> Option<Fact> {
        let mut d = [0i64; 16];
        let mut shift = 0;
        for (i, bits) in PROFILE_BITS.iter().enumerate() {
            d[i] = (profile >> shift) & ((1 << bits) - 1);
            shift += bits;
        }
        Some(Fact {
            intervention_id,
            person_id: 0,
            end: None,
            programme_id,
            organisation_id,
            kind: unslot(InterventionType::ALL, d[0])?,
            start,
            sex: unslot(Sex::ALL, d[1]),
            age: unslot(AgeClass::ALL, d[2]),
            education: unslot(Education::ALL, d[3]),
            work_history: unslot(WorkHistory::ALL, d[4]),
            substance_start: unslot(Substance::ALL, d[5]),
            substance_current: unslot(Substance::ALL, d[6]),
            relapses: unslot(RelapseBucket::ALL, d[7]),
            substance_use: match d[8] {
                1 => Some(false),
                2 => Some(true),
                _ => None,
            },
            ending: unslot(&endings(), d[9]),
            contract: unslot(ContractKind::ALL, d[10]),
            evaluation: unslot(OverallEvaluation::ALL, d[11]),
            section_a: unslot(Band::ALL, d[12]),
            section_b: unslot(Band::ALL, d[13]),
            section_c: unslot(Band::ALL, d[14]),
            autonomy: unslot(AutonomyChange::ALL, d[15]),
            key: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn any<T: Copy>(rng: &mut rand::rngs::StdRng, all: &[T]) -> Option<T> {
        let i = rng.random_range(0..=all.len());
        all.get(i).copied()
    }

    /// Every combination packs and unpacks to itself, and each code list fits its bits.
    #[test]
    fn profiles_round_trip() {
        let lists = [
            InterventionType::ALL.len(),
            Sex::ALL.len(),
            AgeClass::ALL.len(),
            Education::ALL.len(),
            WorkHistory::ALL.len(),
            Substance::ALL.len(),
            Substance::ALL.len(),
            RelapseBucket::ALL.len(),
            2,
            endings().len(),
            ContractKind::ALL.len(),
            OverallEvaluation::ALL.len(),
            Band::ALL.len(),
            Band::ALL.len(),
            Band::ALL.len(),
            AutonomyChange::ALL.len(),
        ];
        for (n, bits) in lists.iter().zip(PROFILE_BITS) {
            assert!((*n as i64) < (1 << bits), "{n} values do not fit {bits} bits");
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let ends = endings();
        for i in 0..2000 {
            let f = Fact {
                intervention_id: i,
                // Stored in their own columns, not in the profile.
                person_id: 0,
                end: None,
                programme_id: 7,
                organisation_id: 9,
                kind: InterventionType::ALL[rng.random_range(0..3)],
                start: NaiveDate::from_ymd_opt(2011, 5, 1),
                sex: any(&mut rng, Sex::ALL),
                age: any(&mut rng, AgeClass::ALL),
                education: any(&mut rng, Education::ALL),
                work_history: any(&mut rng, WorkHistory::ALL),
                substance_start: any(&mut rng, Substance::ALL),
                substance_current: any(&mut rng, Substance::ALL),
                relapses: any(&mut rng, RelapseBucket::ALL),
                substance_use: any(&mut rng, &[true, false]),
                ending: any(&mut rng, &ends),
                contract: any(&mut rng, ContractKind::ALL),
                evaluation: any(&mut rng, OverallEvaluation::ALL),
                section_a: any(&mut rng, Band::ALL),
                section_b: any(&mut rng, Band::ALL),
                section_c: any(&mut rng, Band::ALL),
                autonomy: any(&mut rng, AutonomyChange::ALL),
                key: 0,
            };
            let back = Fact::unpack(f.intervention_id, 7, 9, f.start, f.profile());
            assert_eq!(back.as_ref(), Some(&f));
        }
    }

    #[test]
    fn age_and_relapse_classes() {
        let d = NaiveDate::from_ymd_opt(2012, 3, 1).unwrap_or_default();
        assert_eq!(AgeClass::of(1983, d), Some(AgeClass::Fino29));
        assert_eq!(AgeClass::of(1982, d), Some(AgeClass::Da30a39));
        assert_eq!(AgeClass::of(1962, d), Some(AgeClass::Oltre50));
        assert_eq!(RelapseBucket::of(0), RelapseBucket::Nessuna);
        assert_eq!(RelapseBucket::of(3), RelapseBucket::Da1a3);
        assert_eq!(RelapseBucket::of(10), RelapseBucket::Da4a10);
        assert_eq!(RelapseBucket::of(11), RelapseBucket::Oltre11);
    }
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    fn fact(org: i64, kind: InterventionType, start: Option<(i32, u32)>) -> Fact {
        Fact { start: start.and_then(|(y, m)| NaiveDate::from_ymd_opt(y, m, 1)), ..Fact::unclassified(1, 1, org, kind) }
    }

    #[test]
    fn filters_select_by_period_organisation_kind_and_type() {
        let serd = Unit { id: 1, name: "1-MS".into(), kind: OrganisationKind::AuslSerd };
        let ceart = Unit { id: 2, name: "CEART".into(), kind: OrganisationKind::EnteAusiliario };
        let f = fact(1, InterventionType::SocioTerapeutico, Some((2011, 6)));
        assert!(Filter::default().matches(&f, &serd));
        assert!(
            !Filter::default().matches(&fact(1, InterventionType::SocioTerapeutico, None), &serd),
            "never activated"
        );
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        let period = Filter { from: d(2011, 6, 1), to: d(2011, 6, 30), ..Default::default() };
        assert!(period.matches(&f, &serd), "both ends included");
        assert!(!Filter { from: d(2011, 6, 2), ..Default::default() }.matches(&f, &serd));
        assert!(!Filter { to: d(2011, 5, 31), ..Default::default() }.matches(&f, &serd));
        assert!(!Filter { organisations: vec![2], ..Default::default() }.matches(&f, &serd));
        assert!(Filter { organisations: vec![2, 1], ..Default::default() }.matches(&f, &serd));
        let kind = Filter { kind: Some(OrganisationKind::EnteAusiliario), ..Default::default() };
        assert!(!kind.matches(&f, &serd) && kind.includes_unit(&ceart) && !kind.includes_unit(&serd));
        let t = Filter { intervention_type: Some(InterventionType::InserimentoLavorativo), ..Default::default() };
        assert!(!t.matches(&f, &serd));
    }

    #[test]
    fn budget_reuse_is_what_was_committed_beyond_the_allocation() {
        let b = crate::ledger::Balance { budget: 1000, committed_total: 1200, paid: 700, released: 300 };
        let r = Budget::of(&b);
        assert_eq!((r.committed, r.paid, r.available, r.freed, r.reused), (200, 700, 100, 300, 200));
        assert_eq!(r.committed + r.paid + r.available, r.allocated);
        let none = Budget::of(&crate::ledger::Balance { budget: 1000, committed_total: 500, paid: 0, released: 100 });
        assert_eq!(none.reused, 0);
    }

    #[test]
    fn natural_order_of_zone_names() {
        let mut names = vec!["10-FI", "2-LU", "1-MS", "CEART", "12-Viar."];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, vec!["1-MS", "2-LU", "10-FI", "12-Viar.", "CEART"]);
    }
}
