//! The fourteen tables of seed 001, each built from the facts in one pass.

use super::grid::{protect_count, Cell, Grid, Label, Line, Percent, Protection, Role};
use super::{AgeClass, Ending, Fact, GroupBy, Input, RelapseBucket, Report, Table, Unit};
use crate::codes::{Education, OrganisationKind, Sex, Substance, WorkHistory};
use crate::instrument::{AutonomyChange, Band};
use crate::intervention::{ContractKind, InterruptionReason, OverallEvaluation, PositiveOutcome};
use crate::programme::InterventionType;
use rustc_hash::FxHashMap as HashMap;

/// The seed's column order for intervention types.
const TYPES: [InterventionType; 3] = [
    InterventionType::EsperienzaFormativa,
    InterventionType::InserimentoLavorativo,
    InterventionType::SocioTerapeutico,
];

const AUTONOMY: [AutonomyChange; 3] =
    [AutonomyChange::Peggioramento, AutonomyChange::NessunaVariazione, AutonomyChange::Miglioramento];

fn cats<T: Copy>(family: &str, all: &[T], code: impl Fn(T) -> &'static str) -> Vec<Line> {
    all.iter().map(|v| Line::new(code(*v), Label::msg(format!("code-{family}-{}", code(*v))), Role::Category)).collect()
}

fn missing() -> Line {
    Line::new("mancante", Label::msg("report-missing"), Role::Missing)
}

fn total() -> Line {
    Line::new("totale", Label::msg("report-total"), Role::Total)
}

fn with(mut lines: Vec<Line>, extra: impl IntoIterator<Item = Line>) -> Vec<Line> {
    lines.extend(extra);
    lines
}

fn types() -> Vec<Line> {
    cats("intervention_type", &TYPES, |t| t.code())
}

fn type_col(t: InterventionType) -> usize {
    TYPES.iter().position(|x| *x == t).unwrap_or(0)
}

fn pos<T: PartialEq>(all: &[T], v: &T) -> usize {
    all.iter().position(|x| x == v).unwrap_or(0)
}

/// Ended positively or interrupted: the two columns of the tables "by conclusion".
fn conclusion_cols() -> Vec<Line> {
    vec![
        Line::new("positivi", Label::msg("report-positive"), Role::Category),
        Line::new("interrotti", Label::msg("report-interrupted"), Role::Category),
        total(),
    ]
}

fn conclusion_col(f: &Fact) -> Option<usize> {
    match f.ending? {
        Ending::Positive(_) => Some(0),
        Ending::Interrupted(_) => Some(1),
    }
}

/// Rows or columns for the organisations or their kinds, and where each fact goes.
struct Units {
    lines: Vec<Line>,
    index: HashMap<i64, usize>,
    /// The same as `index` for the organisation ids below its length (database ids are small
    /// and dense): an array read instead of a hash for every fact of every table.
    dense: Vec<Option<usize>>,
}

/// The dense form of an organisation index: ids up to a few times the number of organisations.
fn dense(index: &HashMap<i64, usize>) -> Vec<Option<usize>> {
    let limit = (index.len() * 8 + 1024) as i64;
    let size = index.keys().copied().filter(|id| (0..limit).contains(id)).max().map_or(0, |m| m as usize + 1);
    let mut out = vec![None; size];
    for (id, i) in index {
        if (0..size as i64).contains(id) {
            out[*id as usize] = Some(*i);
        }
    }
    out
}

impl Units {
    fn new(units: &[Unit], by: GroupBy) -> Units {
        let mut lines = Vec::new();
        let mut index = HashMap::default();
        match by {
            GroupBy::Kind => {
                let mut kinds: Vec<OrganisationKind> = Vec::new();
                for u in units {
                    if !kinds.contains(&u.kind) {
                        kinds.push(u.kind);
                    }
                    index.insert(u.id, pos(&kinds, &u.kind));
                }
                lines = cats("organisation_kind", &kinds, |k| k.code());
            }
            GroupBy::Organisation => {
                for (i, u) in units.iter().enumerate() {
                    lines.push(Line::new(format!("org-{}", u.id), Label::text(&u.name), Role::Category));
                    index.insert(u.id, i);
                }
            }
        }
        Units { lines, dense: dense(&index), index }
    }

    fn of(&self, f: &Fact) -> Option<usize> {
        match self.dense.get(f.organisation_id as usize) {
            Some(slot) if f.organisation_id >= 0 => *slot,
            _ => self.index.get(&f.organisation_id).copied(),
        }
    }

    /// Organisations grouped by kind with a subtotal after each kind (tables 1 and 3).
    fn grouped(units: &[Unit]) -> Units {
        let mut lines = Vec::new();
        let mut index = HashMap::default();
        let mut kinds: Vec<OrganisationKind> = Vec::new();
        for u in units {
            if !kinds.contains(&u.kind) {
                kinds.push(u.kind);
            }
        }
        for (g, kind) in kinds.iter().enumerate() {
            for u in units.iter().filter(|u| u.kind == *kind) {
                index.insert(u.id, lines.len());
                lines.push(Line::new(format!("org-{}", u.id), Label::text(&u.name), Role::Category).in_group(g));
            }
            lines.push(
                Line::new(
                    format!("totale-{}", kind.code()),
                    Label::msg(format!("code-organisation_kind-{}", kind.code())),
                    Role::Subtotal,
                )
                .in_group(g),
            );
        }
        Units { lines, dense: dense(&index), index }
    }
}

/// Builds the fourteen tables, or only table `only`. With `protection` (viewers without
/// identifiable access) every table goes through the disclosure control of
/// [`Grid::protect`].
pub fn build(input: &Input, protection: Option<Protection>, only: Option<u8>) -> Report {
    build_in_chunks(input, protection, only, CHUNK)
}

fn build_in_chunks(input: &Input, protection: Option<Protection>, only: Option<u8>, chunk_size: usize) -> Report {
    let facts = &input.facts;
    let by_kind = Units::new(&input.units, input.by);
    let grouped = Units::grouped(&input.units);
    // Table 2 and the heading count people: each once.
    let people = people(facts);
    // Most tables are passes over the facts. They are fed chunk by chunk, every table of a
    // thread over one chunk while it is in the processor's cache, instead of each table reading
    // a million facts from memory in turn; each table's partial grids add up (their tallies)
    // before the totals are made. Table 2 counts people, 14 and 15 keep their own figures: one
    // pass each, over everything.
    let chunked = |n: u8| !matches!(n, 2 | 14 | 15);
    let partial = |n: u8, chunk: &[&Fact], ended: &[&Fact]| -> Vec<Grid> {
        match n {
            1 => vec![t01(chunk, &grouped)],
            3 => vec![t03(chunk, &grouped, &input.planned)],
            4 => t04(chunk, &by_kind),
            5 => vec![t05(chunk, &by_kind)],
            6 => vec![t06(chunk, &by_kind)],
            7 => t07(chunk),
            8 => vec![t08(ended)],
            9 => vec![t09(ended)],
            10 => vec![t10(ended)],
            11 => t11(ended),
            12 => vec![t12(ended)],
            _ => vec![t13(ended, &by_kind)],
        }
    };
    let whole = |n: u8| -> Vec<Grid> {
        match n {
            2 => t02(&people),
            14 => vec![t14(input)],
            _ => vec![t15(facts)],
        }
    };
    let run = |numbers: &[u8]| -> Vec<Table> {
        let mut sums: Vec<Option<Vec<Grid>>> = numbers.iter().map(|_| None).collect();
        if numbers.iter().any(|n| chunked(*n)) {
            let mut ended: Vec<&Fact> = Vec::with_capacity(CHUNK);
            for chunk in facts.chunks(chunk_size.max(1)) {
                ended.clear();
                ended.extend(chunk.iter().copied().filter(|f| f.ending.is_some()));
                for (sum, n) in sums.iter_mut().zip(numbers).filter(|(_, n)| chunked(**n)) {
                    let part = partial(*n, chunk, &ended);
                    match sum {
                        None => *sum = Some(part),
                        Some(grids) => grids.iter_mut().zip(&part).for_each(|(g, p)| g.absorb(p)),
                    }
                }
            }
        }
        numbers
            .iter()
            .zip(sums)
            .map(|(n, sum)| {
                let grids = if chunked(*n) {
                    sum.unwrap_or_else(|| partial(*n, &[], &[])).into_iter().map(Grid::finish).collect()
                } else {
                    whole(*n)
                };
                table(
                    *n,
                    match protection {
                        Some(p) => grids.into_iter().map(|g| g.protect(p)).collect(),
                        None => grids,
                    },
                )
            })
            .collect()
    };
    let numbers: Vec<u8> = (1..=TABLES).filter(|n| only.is_none_or(|o| o == *n)).collect();
    // The whole report on two threads, the tables split between them; the tables come back in
    // their order.
    let tables = if numbers.len() > 1 {
        let mine: Vec<u8> = numbers.iter().copied().step_by(2).collect();
        let others: Vec<u8> = numbers.iter().copied().skip(1).step_by(2).collect();
        std::thread::scope(|s| {
            let other = s.spawn(|| run(&others));
            let mine = run(&mine);
            let theirs = other.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            let mut all: Vec<Table> = Vec::with_capacity(numbers.len());
            let mut theirs = theirs.into_iter();
            for t in mine {
                all.push(t);
                all.extend(theirs.next());
            }
            all
        })
    } else {
        run(&numbers)
    };
    let headline = |records: &[&Fact]| {
        let n = records.len() as u64;
        match protection {
            None => Some(n),
            // The key of all the records: the same number as the tables' grand totals.
            Some(_) => match protect_count(n, records.iter().fold(0u32, |k, f| k.wrapping_add(u32::from(f.key)))) {
                Cell::Count(v) => Some(v),
                _ => None,
            },
        }
    };
    Report { tables, interventions: headline(facts), persons: headline(&people), suppressed: protection.is_some() }
}

/// One fact per person: their earliest intervention (by start, then id), which dates their
/// age class; facts of unknown people each stand for one.
fn people<'a>(facts: &[&'a Fact]) -> Vec<&'a Fact> {
    // Person ids are database ids, dense from 1: one slot per id instead of a hash map of a
    // million entries (a fifth of the whole report's time at 1M).
    let max = facts.iter().map(|f| f.person_id).max().unwrap_or(0);
    if max >= 0 && (max as usize) <= facts.len().saturating_mul(4) + 1024 {
        let mut slot: Vec<u32> = vec![u32::MAX; max as usize + 1];
        let mut unknown = Vec::new();
        for (i, f) in facts.iter().enumerate() {
            if f.person_id <= 0 {
                unknown.push(*f);
                continue;
            }
            let s = &mut slot[f.person_id as usize];
            if *s == u32::MAX
                || (f.start, f.intervention_id) < (facts[*s as usize].start, facts[*s as usize].intervention_id)
            {
                *s = i as u32;
            }
        }
        return slot.into_iter().filter(|s| *s != u32::MAX).map(|s| facts[s as usize]).chain(unknown).collect();
    }
    let mut first: HashMap<i64, &'a Fact> = HashMap::with_capacity_and_hasher(facts.len(), Default::default());
    let mut unknown = Vec::new();
    for f in facts {
        if f.person_id == 0 {
            unknown.push(*f);
            continue;
        }
        let slot = first.entry(f.person_id).or_insert(f);
        if (f.start, f.intervention_id) < (slot.start, slot.intervention_id) {
            *slot = f;
        }
    }
    // In no particular order: what is made of them (counts, sums of record keys) is the same
    // in any order.
    first.into_values().chain(unknown).collect()
}

/// Facts per chunk: a few megabytes, in cache while every table of a thread reads them.
const CHUNK: usize = 32 * 1024;

/// The tables of a report: seed 001's fourteen, then the analyses added since (15: durations).
pub const TABLES: u8 = 15;

fn table(number: u8, grids: Vec<Grid>) -> Table {
    Table { number, code: format!("t{number:02}"), grids }
}

fn t01(facts: &[&Fact], units: &Units) -> Grid {
    let rows = with(units.lines.clone(), [total()]);
    let mut g = Grid::new(None, Label::msg("report-organisation"), rows, with(types(), [total()]), Percent::OfRow);
    for f in facts {
        if let Some(r) = units.of(f) {
            g.record(r, type_col(f.kind), f);
        }
    }
    g
}

fn t02(facts: &[&Fact]) -> Vec<Grid> {
    let rows = with(cats("age_class", AgeClass::ALL, |a| a.code()), [missing(), total()]);
    let cols = with(cats("sex", Sex::ALL, |s| s.code()), [missing(), total()]);
    let mut age =
        Grid::new(Some(Label::msg("report-t02-age")), Label::msg("report-age-class"), rows, cols, Percent::OfColumn);
    let n = || vec![Line::new("n", Label::msg("report-n"), Role::Category)];
    let rows = with(cats("education", Education::ALL, |e| e.code()), [missing(), total()]);
    let mut edu = Grid::new(
        Some(Label::msg("report-t02-education")),
        Label::msg("report-education"),
        rows,
        n(),
        Percent::OfColumn,
    );
    let rows = with(cats("work_history", WorkHistory::ALL, |w| w.code()), [missing(), total()]);
    let mut work =
        Grid::new(Some(Label::msg("report-t02-work")), Label::msg("report-work-history"), rows, n(), Percent::OfColumn);
    let (na, ns, ne, nw) = (AgeClass::ALL.len(), Sex::ALL.len(), Education::ALL.len(), WorkHistory::ALL.len());
    for f in facts {
        age.record(f.age.map_or(na, |a| pos(AgeClass::ALL, &a)), f.sex.map_or(ns, |s| pos(Sex::ALL, &s)), f);
        edu.record(f.education.map_or(ne, |e| pos(Education::ALL, &e)), 0, f);
        work.record(f.work_history.map_or(nw, |w| pos(WorkHistory::ALL, &w)), 0, f);
    }
    vec![age.finish(), edu.finish(), work.finish()]
}

fn t03(facts: &[&Fact], units: &Units, planned: &[(i64, InterventionType, i64)]) -> Grid {
    let rows = with(units.lines.clone(), [total()]);
    let cols = with(
        types(),
        [
            Line::new("attivati", Label::msg("report-activated"), Role::Total),
            Line::new("previsti", Label::msg("report-planned"), Role::Fixed),
            Line::new("differenza", Label::msg("report-difference"), Role::Difference),
        ],
    );
    let mut g = Grid::new(None, Label::msg("report-organisation"), rows, cols, Percent::None);
    for f in facts {
        if let Some(r) = units.of(f) {
            g.record(r, type_col(f.kind), f);
        }
    }
    let mut per_org: HashMap<i64, i64> = HashMap::default();
    for (org, _, n) in planned {
        *per_org.entry(*org).or_default() += n;
    }
    for (org, r) in &units.index {
        g.set_fixed(*r, TYPES.len() + 1, per_org.get(org).copied().unwrap_or(0));
    }
    g
}

fn by_unit_grid(
    title: Option<Label>,
    header: &str,
    categories: Vec<Line>,
    units: &Units,
    facts: &[&Fact],
    row_of: impl Fn(&Fact) -> Option<usize>,
) -> Grid {
    let n = categories.len();
    let rows = with(categories, [missing(), total()]);
    let mut g = Grid::new(title, Label::msg(header), rows, with(units.lines.clone(), [total()]), Percent::OfColumn);
    for f in facts {
        if let Some(c) = units.of(f) {
            g.record(row_of(f).unwrap_or(n), c, f);
        }
    }
    g
}

fn t04(facts: &[&Fact], units: &Units) -> Vec<Grid> {
    let n = Substance::ALL.len();
    let grid = |title: &str| {
        let rows = with(cats("substance", Substance::ALL, |s| s.code()), [missing(), total()]);
        let cols = with(units.lines.clone(), [total()]);
        Grid::new(Some(Label::msg(title)), Label::msg("report-substance"), rows, cols, Percent::OfColumn)
    };
    let (mut start, mut current) = (grid("report-t04-start"), grid("report-t04-current"));
    let row = |s: Option<Substance>| s.map_or(n, |s| pos(Substance::ALL, &s));
    // One pass for both grids.
    for f in facts {
        if let Some(c) = units.of(f) {
            start.record(row(f.substance_start), c, f);
            current.record(row(f.substance_current), c, f);
        }
    }
    vec![start, current]
}

fn t05(facts: &[&Fact], units: &Units) -> Grid {
    let rows = cats("relapse", RelapseBucket::ALL, |r| r.code());
    by_unit_grid(None, "report-relapses", rows, units, facts, |f| f.relapses.map(|r| pos(RelapseBucket::ALL, &r)))
}

fn t06(facts: &[&Fact], units: &Units) -> Grid {
    let rows = with(units.lines.clone(), [total()]);
    let cols = vec![
        Line::new("completati", Label::msg("report-completed"), Role::Category),
        Line::new("prolungati", Label::msg("report-prolonged"), Role::Category),
        Line::new("lavoro", Label::msg("report-left-for-job"), Role::Category),
        Line::new("interrotti", Label::msg("report-interrupted"), Role::Category),
        Line::new("in_corso", Label::msg("report-ongoing"), Role::Missing),
        total(),
    ];
    let mut g = Grid::new(None, Label::msg("report-organisation"), rows, cols, Percent::OfRow);
    for f in facts {
        let Some(r) = units.of(f) else { continue };
        let c = match f.ending {
            Some(Ending::Positive(PositiveOutcome::Completato)) => 0,
            Some(Ending::Positive(PositiveOutcome::Prorogato)) => 1,
            Some(Ending::Positive(_)) => 2,
            Some(Ending::Interrupted(_)) => 3,
            None => 4,
        };
        g.record(r, c, f);
    }
    g
}

fn t07(facts: &[&Fact]) -> Vec<Grid> {
    let rows = with(cats("positive_outcome", PositiveOutcome::ALL, |p| p.code()), [total()]);
    let mut kinds = Grid::new(
        Some(Label::msg("report-t07-kinds")),
        Label::msg("report-conclusion"),
        rows,
        with(types(), [total()]),
        Percent::OfColumn,
    );
    let rows = vec![
        Line::new("positivi", Label::msg("report-positive"), Role::Category),
        Line::new("interrotti", Label::msg("report-interrupted"), Role::Category),
        Line::new("in_corso", Label::msg("report-ongoing"), Role::Missing),
        total(),
    ];
    let mut share = Grid::new(
        Some(Label::msg("report-t07-share")),
        Label::msg("report-conclusion"),
        rows,
        with(types(), [total()]),
        Percent::OfColumn,
    );
    for f in facts {
        let c = type_col(f.kind);
        match f.ending {
            Some(Ending::Positive(p)) => {
                kinds.record(pos(PositiveOutcome::ALL, &p), c, f);
                share.record(0, c, f);
            }
            Some(Ending::Interrupted(_)) => share.record(1, c, f),
            None => share.record(2, c, f),
        }
    }
    vec![kinds, share]
}

fn t08(ended: &[&Fact]) -> Grid {
    let rows = with(cats("interruption_reason", InterruptionReason::ALL, |r| r.code()), [total()]);
    let mut g = Grid::new(None, Label::msg("report-reason"), rows, with(types(), [total()]), Percent::OfColumn);
    for f in ended {
        if let Some(Ending::Interrupted(r)) = f.ending {
            g.record(pos(InterruptionReason::ALL, &r), type_col(f.kind), f);
        }
    }
    g
}

fn t09(ended: &[&Fact]) -> Grid {
    let rows = with(conclusion_cols()[..2].to_vec(), [total()]);
    let cols = vec![
        Line::new("almeno_una", Label::msg("report-at-least-one"), Role::Category),
        Line::new("nessuna", Label::msg("report-none"), Role::Category),
        missing(),
        total(),
    ];
    let mut g = Grid::new(None, Label::msg("report-conclusion"), rows, cols, Percent::OfRow);
    for f in ended {
        if let Some(r) = conclusion_col(f) {
            g.record(r, f.substance_use.map_or(2, |u| if u { 0 } else { 1 }), f);
        }
    }
    g
}

fn t10(ended: &[&Fact]) -> Grid {
    let rows = with(cats("contract_kind", ContractKind::ALL, |c| c.code()), [total()]);
    let cols = vec![Line::new("n", Label::msg("report-n"), Role::Category)];
    let mut g = Grid::new(None, Label::msg("report-contract"), rows, cols, Percent::OfColumn);
    for f in ended {
        if let Some(k) = f.contract {
            g.record(pos(ContractKind::ALL, &k), 0, f);
        }
    }
    g
}

fn t11(ended: &[&Fact]) -> Vec<Grid> {
    let section = |code: &str| {
        let rows = with(cats("band", Band::ALL, |b| b.code()), [missing(), total()]);
        Grid::new(
            Some(Label::msg(format!("report-section-{code}"))),
            Label::msg("report-score"),
            rows,
            conclusion_cols(),
            Percent::OfColumn,
        )
    };
    let mut sections = [section("a"), section("b"), section("c")];
    let row = |b: Option<Band>| b.map_or(Band::ALL.len(), |b| pos(Band::ALL, &b));
    // One pass for the three sections.
    for f in ended {
        if let Some(c) = conclusion_col(f) {
            for (g, band) in sections.iter_mut().zip([f.section_a, f.section_b, f.section_c]) {
                g.record(row(band), c, f);
            }
        }
    }
    sections.into_iter().collect()
}

fn t12(ended: &[&Fact]) -> Grid {
    let rows = with(cats("autonomy_change", &AUTONOMY, |a| a.code()), [missing(), total()]);
    let mut g = Grid::new(None, Label::msg("report-autonomy"), rows, conclusion_cols(), Percent::OfColumn);
    for f in ended {
        if let Some(c) = conclusion_col(f) {
            g.record(f.autonomy.map_or(AUTONOMY.len(), |a| pos(&AUTONOMY, &a)), c, f);
        }
    }
    g
}

fn t13(ended: &[&Fact], units: &Units) -> Grid {
    let rows = cats("evaluation", OverallEvaluation::ALL, |e| e.code());
    by_unit_grid(None, "report-evaluation", rows, units, ended, |f| {
        f.evaluation.map(|e| pos(OverallEvaluation::ALL, &e))
    })
}

/// Headline figures: counts with the percentage of their own base, then the budget.
fn t14(input: &Input) -> Grid {
    let facts = &input.facts;
    // One pass for every figure.
    #[derive(Default)]
    struct Counts {
        ended: u64,
        relapse_known: u64,
        evaluated: u64,
        no_relapses: u64,
        completed: u64,
        positive: u64,
        interrupted: u64,
        evaluated_positive: u64,
        contracts: u64,
    }
    let mut n = Counts::default();
    for f in facts {
        n.relapse_known += u64::from(f.relapses.is_some());
        n.no_relapses += u64::from(f.relapses == Some(RelapseBucket::Nessuna));
        let Some(ending) = f.ending else { continue };
        n.ended += 1;
        n.evaluated += u64::from(f.evaluation.is_some());
        n.evaluated_positive += u64::from(f.evaluation == Some(OverallEvaluation::Positiva));
        n.contracts += u64::from(f.contract.is_some());
        match ending {
            Ending::Positive(p) => {
                n.positive += 1;
                n.completed += u64::from(p == PositiveOutcome::Completato);
            }
            Ending::Interrupted(_) => n.interrupted += 1,
        }
    }
    let planned: i64 = input.planned.iter().map(|(_, _, n)| n).sum();
    let activated = facts.len() as u64;
    let figures: Vec<(&str, Cell, Option<u64>)> = vec![
        ("attivati", Cell::Count(activated), None),
        ("previsti", Cell::Fixed(planned), None),
        ("differenza", Cell::Signed(activated as i64 - planned), None),
        ("senza_ricadute", Cell::Count(n.no_relapses), Some(n.relapse_known)),
        ("completati", Cell::Count(n.completed), Some(n.ended)),
        ("conclusi_positivamente", Cell::Count(n.positive), Some(n.ended)),
        ("interrotti", Cell::Count(n.interrupted), Some(n.ended)),
        ("valutazione_positiva", Cell::Count(n.evaluated_positive), Some(n.evaluated)),
        ("contratti", Cell::Count(n.contracts), Some(n.ended)),
        ("budget_assegnato", Cell::Money(input.budget.allocated), None),
        ("budget_impegnato", Cell::Money(input.budget.committed), None),
        ("budget_erogato", Cell::Money(input.budget.paid), None),
        ("budget_disponibile", Cell::Money(input.budget.available), None),
        ("budget_liberato", Cell::Money(input.budget.freed), None),
        ("budget_riutilizzato", Cell::Money(input.budget.reused), None),
    ];
    let rows = figures
        .iter()
        .map(|(code, _, _)| Line::new(*code, Label::msg(format!("report-figure-{code}")), Role::Fixed))
        .collect();
    let cols = vec![Line::new("valore", Label::msg("report-value"), Role::Fixed)];
    let mut g = Grid::new(None, Label::msg("report-figure"), rows, cols, Percent::None);
    for (r, (_, cell, base)) in figures.into_iter().enumerate() {
        g.cells[r][0] = cell;
        if let (Cell::Count(n), Some(b)) = (cell, base) {
            if b > 0 {
                g.percents[r][0] = Some(super::grid::round1(n as f64 * 100.0 / b as f64));
            }
        }
    }
    g
}

/// Months between two dates, in tenths (a month is 30.44 days on average).
fn tenths_of_months(start: chrono::NaiveDate, end: chrono::NaiveDate) -> usize {
    ((end - start).num_days().max(0) as f64 * 10.0 / 30.44).round() as usize
}

/// Durations of one group as counts per tenth of a month: mean and median without sorting.
#[derive(Default)]
struct Durations {
    counts: Vec<u64>,
    n: u64,
    sum: u64,
}

impl Durations {
    fn add(&mut self, tenths: usize) {
        if self.counts.len() <= tenths {
            self.counts.resize(tenths + 1, 0);
        }
        self.counts[tenths] += 1;
        self.n += 1;
        self.sum += tenths as u64;
    }

    /// Mean (rounded) and median (of the two middle values when even, rounded down), in tenths.
    fn mean_median(&self) -> Option<(i64, i64)> {
        if self.n == 0 {
            return None;
        }
        let nth = |k: u64| {
            let mut seen = 0;
            self.counts.iter().position(|c| {
                seen += c;
                seen > k
            })
        };
        let (lo, hi) = (nth((self.n - 1) / 2)?, nth(self.n / 2)?);
        let mean = (self.sum as f64 / self.n as f64).round() as i64;
        Some((mean, ((lo + hi) / 2) as i64))
    }
}

/// Table 15: how long ended interventions lasted (months), by how they ended and by type: how
/// many, the mean and the median.
fn t15(facts: &[&Fact]) -> Grid {
    let mut rows = cats("positive_outcome", PositiveOutcome::ALL, |p| p.code());
    rows.push(Line::new("interrotti", Label::msg("report-interrupted"), Role::Category));
    rows.push(total());
    let mut cols = Vec::new();
    for t in TYPES.iter().map(Some).chain([None]) {
        let (code, label) = match t {
            Some(t) => (t.code().to_string(), Label::msg(format!("code-intervention_type-{}", t.code()))),
            None => ("totale".to_string(), Label::msg("report-total")),
        };
        let role = if t.is_some() { Role::Category } else { Role::Total };
        cols.push(Line::new(code.clone(), label, role));
        cols.push(Line::new(format!("{code}-media"), Label::msg("report-mean-months"), Role::Statistic));
        cols.push(Line::new(format!("{code}-mediana"), Label::msg("report-median-months"), Role::Statistic));
    }
    let mut g = Grid::new(None, Label::msg("report-conclusion"), rows, cols, Percent::None);
    let total_row = PositiveOutcome::ALL.len() + 1;
    // One group per (row, type or total): a small array, indexed directly.
    let width = TYPES.len() + 1;
    let mut spans: Vec<Durations> = (0..(total_row + 1) * width).map(|_| Durations::default()).collect();
    for f in facts {
        let (Some(ending), Some(start), Some(end)) = (f.ending, f.start, f.end) else { continue };
        let r = match ending {
            Ending::Positive(p) => pos(PositiveOutcome::ALL, &p),
            Ending::Interrupted(_) => PositiveOutcome::ALL.len(),
        };
        let t = type_col(f.kind);
        g.record(r, t * 3, f);
        let d = tenths_of_months(start, end);
        for (r, t) in [(r, t), (r, TYPES.len()), (total_row, t), (total_row, TYPES.len())] {
            spans[r * width + t].add(d);
        }
    }
    let mut g = g.finish();
    for (i, d) in spans.iter().enumerate() {
        let (r, t) = (i / width, i % width);
        if let Some((mean, median)) = d.mean_median() {
            g.cells[r][t * 3 + 1] = Cell::Months(mean);
            g.cells[r][t * 3 + 2] = Cell::Months(median);
        }
    }
    g
}

#[cfg(test)]
mod chunk_tests {
    use super::*;
    use crate::report::{Budget, GroupBy};
    use chrono::NaiveDate;

    /// Facts of every kind of value, over five organisations of two kinds.
    fn input(n: i64) -> (Vec<Fact>, Vec<Unit>) {
        let units = (0..5)
            .map(|i| Unit {
                id: i + 1,
                name: format!("Ente {i}"),
                kind: if i % 2 == 0 { OrganisationKind::AuslSerd } else { OrganisationKind::EnteAusiliario },
            })
            .collect();
        let facts = (0..n)
            .map(|i| {
                let start = NaiveDate::from_ymd_opt(2015 + (i % 5) as i32, 1 + (i % 12) as u32, 1);
                let mut f = Fact::unpack(i, 1, i % 5 + 1, start, (i * 2_654_435_761) & ((1 << 40) - 1))
                    .unwrap_or_else(|| Fact::unclassified(i, 1, i % 5 + 1, InterventionType::ALL[0]));
                f.person_id = i * 6 / 7 + 1;
                f.end = start.and_then(|s| s.checked_add_months(chrono::Months::new(3 + (i % 9) as u32)));
                f.key = (i.wrapping_mul(0x9E37) & 0xff) as u8;
                f
            })
            .collect();
        (facts, units)
    }

    /// However the facts are cut into chunks, every table (exact and protected) is the one a
    /// single pass over all of them makes.
    #[test]
    fn chunks_add_up_to_the_single_pass() {
        let (facts, units) = input(5_000);
        let input = Input {
            facts: facts.iter().collect(),
            units,
            planned: Vec::new(),
            budget: Budget::default(),
            by: GroupBy::Kind,
        };
        for protection in [None, Some(Protection { secret: 11 })] {
            let whole = serde_json::to_value(build_in_chunks(&input, protection, None, usize::MAX)).expect("json");
            for size in [1, 7, 1000, 4999] {
                let cut = serde_json::to_value(build_in_chunks(&input, protection, None, size)).expect("json");
                assert_eq!(cut, whole, "chunks of {size}, protected: {}", protection.is_some());
            }
            let one = serde_json::to_value(build_in_chunks(&input, protection, Some(9), 13)).expect("json");
            assert_eq!(one["tables"][0], whole["tables"][8], "a single table is the same table");
        }
    }
}

#[cfg(test)]
mod duration_tests {
    use super::Durations;

    #[test]
    fn mean_and_median_from_counts() {
        let mut d = Durations::default();
        for v in [30, 10, 20, 40] {
            d.add(v);
        }
        assert_eq!(d.mean_median(), Some((25, 25)), "even: the middle two, halved");
        d.add(100);
        assert_eq!(d.mean_median(), Some((40, 30)), "odd: the middle one");
        assert_eq!(Durations::default().mean_median(), None);
    }
}
