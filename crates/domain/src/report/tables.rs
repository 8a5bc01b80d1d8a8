//! The fifteen tables of the outcome report (seed 001's fourteen and durations), counted from the facts in one pass.

use super::grid::{protect_count, Cell, Grid, Label, Line, Percent, Protection, Role};
use super::{AgeClass, Ending, Fact, GroupBy, Input, RelapseBucket, Report, Table, Unit};
use crate::codes::{Education, OrganisationKind, Sex, Substance, WorkHistory};
use crate::instrument::{AutonomyChange, Band};
use crate::intervention::{ContractKind, InterruptionReason, OverallEvaluation, PositiveOutcome};
use crate::programme::InterventionType;
use chrono::Datelike;
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

/// The column of a type in [`TYPES`] (a match, not a search: it runs for every fact).
fn type_col(t: InterventionType) -> usize {
    match t {
        InterventionType::EsperienzaFormativa => 0,
        InterventionType::InserimentoLavorativo => 1,
        InterventionType::SocioTerapeutico => 2,
    }
}

/// The row of a change in [`AUTONOMY`].
fn autonomy_row(a: AutonomyChange) -> usize {
    match a {
        AutonomyChange::Peggioramento => 0,
        AutonomyChange::NessunaVariazione => 1,
        AutonomyChange::Miglioramento => 2,
    }
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
    // Two threads, each counting every table over its part of the facts; the one that also
    // finds the people for table 2 and the heading takes a smaller part.
    build_split(input, protection, only, input.facts.len() * 2 / 5)
}

/// The tables with the facts cut in two at `split`: the first part counted on this thread
/// (which also finds the people), the rest on another; the parts' tallies then add up.
fn build_split(input: &Input, protection: Option<Protection>, only: Option<u8>, split: usize) -> Report {
    let facts = &input.facts;
    let by_kind = Units::new(&input.units, input.by);
    let grouped = Units::grouped(&input.units);
    let numbers: Vec<u8> = (1..=TABLES).filter(|n| only.is_none_or(|o| o == *n)).collect();
    let layout = Counted::new(&numbers, &by_kind, &grouped, &input.planned);
    let (head, rest) = facts.split_at(split.min(facts.len()));
    let (mut counted, people) = std::thread::scope(|s| {
        let other = (!rest.is_empty()).then(|| {
            let mut part = layout.clone();
            s.spawn(move || {
                part.count(rest);
                part
            })
        });
        let mut mine = layout.clone();
        mine.count(head);
        // Table 2 and the heading count people: each once.
        let people = people(facts);
        if let Some(other) = other {
            let theirs = other.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            mine.absorb(&theirs);
        }
        (mine, people)
    });
    let tables = numbers
        .iter()
        .map(|&n| {
            let grids = match n {
                2 => t02(&people),
                14 => vec![t14(&counted.figures, input)],
                15 => counted.take(15).into_iter().map(|g| with_durations(g.finish(), &counted.durations)).collect(),
                _ => counted.take(n).into_iter().map(Grid::finish).collect(),
            };
            let grids = match protection {
                Some(p) => grids.into_iter().map(|g| g.protect(p)).collect(),
                None => grids,
            };
            table(n, grids)
        })
        .collect();
    let headline = |(n, key): (u64, u32)| match protection {
        None => Some(n),
        // The key of all the records: the same number as the tables' grand totals.
        Some(_) => match protect_count(n, key) {
            Cell::Count(v) => Some(v),
            _ => None,
        },
    };
    let persons = people.iter().fold((0u64, 0u32), |(n, k), p| (n + 1, k.wrapping_add(u32::from(p.key))));
    Report {
        tables,
        // The interventions' count and key come from the counting pass (table 14's figures).
        interventions: headline((counted.figures.activated, counted.figures.key)),
        persons: headline(persons),
        suppressed: protection.is_some(),
    }
}

/// The tables counted fact by fact (all but table 2, which counts people): their grids, filled
/// in one pass that reads each fact once for every table. Each table was a pass of its own
/// before, over chunks of facts kept in cache; one pass does the per-fact work (finding the
/// organisation's line, the type's column, whether it ended) once instead of a dozen times.
#[derive(Clone)]
struct Counted<'u> {
    by_kind: &'u Units,
    grouped: &'u Units,
    /// Per table number, its grids (empty when the table was not asked for).
    grids: [Vec<Grid>; TABLES as usize + 1],
    figures: Figures,
    durations: Vec<Durations>,
}

/// The counts behind table 14's figures.
#[derive(Default, Clone, Copy)]
struct Figures {
    activated: u64,
    /// The sum of every record's key: the heading's protected count of interventions.
    key: u32,
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

impl Figures {
    fn add(&mut self, f: &Fact) {
        self.activated += 1;
        self.key = self.key.wrapping_add(u32::from(f.key));
        self.relapse_known += u64::from(f.relapses.is_some());
        self.no_relapses += u64::from(f.relapses == Some(RelapseBucket::Nessuna));
        let Some(ending) = f.ending else { return };
        self.ended += 1;
        self.evaluated += u64::from(f.evaluation.is_some());
        self.evaluated_positive += u64::from(f.evaluation == Some(OverallEvaluation::Positiva));
        self.contracts += u64::from(f.contract.is_some());
        match ending {
            Ending::Positive(p) => {
                self.positive += 1;
                self.completed += u64::from(p == PositiveOutcome::Completato);
            }
            Ending::Interrupted(_) => self.interrupted += 1,
        }
    }

    fn absorb(&mut self, o: &Figures) {
        self.activated += o.activated;
        self.key = self.key.wrapping_add(o.key);
        self.ended += o.ended;
        self.relapse_known += o.relapse_known;
        self.evaluated += o.evaluated;
        self.no_relapses += o.no_relapses;
        self.completed += o.completed;
        self.positive += o.positive;
        self.interrupted += o.interrupted;
        self.evaluated_positive += o.evaluated_positive;
        self.contracts += o.contracts;
    }
}

/// Table 15's groups: (row, type or total), one slot each.
const DURATION_WIDTH: usize = TYPES.len() + 1;
const DURATION_TOTAL_ROW: usize = PositiveOutcome::ALL.len() + 1;

impl<'u> Counted<'u> {
    fn new(numbers: &[u8], by_kind: &'u Units, grouped: &'u Units, planned: &[(i64, InterventionType, i64)]) -> Self {
        let mut grids: [Vec<Grid>; TABLES as usize + 1] = Default::default();
        for &n in numbers {
            grids[n as usize] = match n {
                1 => vec![t01(grouped)],
                3 => vec![t03(grouped, planned)],
                4 => t04(by_kind),
                5 => vec![t05(by_kind)],
                6 => vec![t06(by_kind)],
                7 => t07(),
                8 => vec![t08()],
                9 => vec![t09()],
                10 => vec![t10()],
                11 => t11(),
                12 => vec![t12()],
                13 => vec![t13(by_kind)],
                15 => vec![t15()],
                _ => Vec::new(),
            };
        }
        let durations = vec![Durations::default(); (DURATION_TOTAL_ROW + 1) * DURATION_WIDTH];
        Counted { by_kind, grouped, grids, figures: Figures::default(), durations }
    }

    fn take(&mut self, n: u8) -> Vec<Grid> {
        std::mem::take(&mut self.grids[n as usize])
    }

    fn absorb(&mut self, other: &Counted) {
        for (mine, theirs) in self.grids.iter_mut().zip(&other.grids) {
            mine.iter_mut().zip(theirs).for_each(|(g, o)| g.absorb(o));
        }
        self.figures.absorb(&other.figures);
        for (d, o) in self.durations.iter_mut().zip(&other.durations) {
            d.absorb(o);
        }
    }

    /// Counts the facts in every table asked for.
    fn count(&mut self, facts: &[&Fact]) {
        let [_, t01, _, t03, t04, t05, t06, t07, t08, t09, t10, t11, t12, t13, _, t15] = &mut self.grids;
        for f in facts {
            let t = type_col(f.kind);
            let org = self.grouped.of(f);
            let unit = self.by_kind.of(f);
            if let (Some(g), Some(r)) = (t01.first_mut(), org) {
                g.record(r, t, f);
            }
            if let (Some(g), Some(r)) = (t03.first_mut(), org) {
                g.record(r, t, f);
            }
            if let (Some(c), [start, current]) = (unit, t04.as_mut_slice()) {
                let row = |s: Option<Substance>| s.map_or(Substance::ALL.len(), |s| s.index());
                start.record(row(f.substance_start), c, f);
                current.record(row(f.substance_current), c, f);
            }
            if let (Some(g), Some(c)) = (t05.first_mut(), unit) {
                g.record(f.relapses.map_or(RelapseBucket::ALL.len(), |r| r.index()), c, f);
            }
            if let (Some(g), Some(r)) = (t06.first_mut(), unit) {
                let c = match f.ending {
                    Some(Ending::Positive(PositiveOutcome::Completato)) => 0,
                    Some(Ending::Positive(PositiveOutcome::Prorogato)) => 1,
                    Some(Ending::Positive(_)) => 2,
                    Some(Ending::Interrupted(_)) => 3,
                    None => 4,
                };
                g.record(r, c, f);
            }
            if let [kinds, share] = t07.as_mut_slice() {
                match f.ending {
                    Some(Ending::Positive(p)) => {
                        kinds.record(p.index(), t, f);
                        share.record(0, t, f);
                    }
                    Some(Ending::Interrupted(_)) => share.record(1, t, f),
                    None => share.record(2, t, f),
                }
            }
            self.figures.add(f);
            // The tables of ended interventions.
            let Some(ending) = f.ending else { continue };
            let concluded = match ending {
                Ending::Positive(_) => 0,
                Ending::Interrupted(_) => 1,
            };
            if let (Some(g), Ending::Interrupted(r)) = (t08.first_mut(), ending) {
                g.record(r.index(), t, f);
            }
            if let Some(g) = t09.first_mut() {
                g.record(concluded, f.substance_use.map_or(2, |u| if u { 0 } else { 1 }), f);
            }
            if let (Some(g), Some(k)) = (t10.first_mut(), f.contract) {
                g.record(k.index(), 0, f);
            }
            let band = |b: Option<Band>| b.map_or(Band::ALL.len(), |b| b.index());
            for (g, b) in t11.iter_mut().zip([f.section_a, f.section_b, f.section_c]) {
                g.record(band(b), concluded, f);
            }
            if let Some(g) = t12.first_mut() {
                g.record(f.autonomy.map_or(AUTONOMY.len(), autonomy_row), concluded, f);
            }
            if let (Some(g), Some(c)) = (t13.first_mut(), unit) {
                g.record(f.evaluation.map_or(OverallEvaluation::ALL.len(), |e| e.index()), c, f);
            }
            if let (Some(g), Some(start), Some(end)) = (t15.first_mut(), f.start, f.end) {
                let r = match ending {
                    Ending::Positive(p) => p.index(),
                    Ending::Interrupted(_) => PositiveOutcome::ALL.len(),
                };
                g.record(r, t * 3, f);
                let d = tenths_of_months(start, end);
                for (r, t) in [(r, t), (r, TYPES.len()), (DURATION_TOTAL_ROW, t), (DURATION_TOTAL_ROW, TYPES.len())] {
                    self.durations[r * DURATION_WIDTH + t].add(d);
                }
            }
        }
    }
}

/// The facts of known people dealt into buckets of `2^shift` person ids, as (person id,
/// position); the others into `unknown`. `None` when an id is above `bound` (sparse ids).
fn deal(facts: &[&Fact], bound: usize, shift: u32, unknown: &mut Vec<Person>) -> Option<Vec<Vec<(u32, u32)>>> {
    if facts.len() >= u32::MAX as usize || bound >= u32::MAX as usize {
        return None;
    }
    let mut buckets: Vec<Vec<(u32, u32)>> = vec![Vec::new(); (bound >> shift) + 1];
    for (i, f) in facts.iter().enumerate() {
        if f.person_id <= 0 {
            unknown.push(Person::of(f));
        } else if f.person_id as usize > bound {
            return None;
        } else {
            buckets[f.person_id as usize >> shift].push((f.person_id as u32, i as u32));
        }
    }
    Some(buckets)
}

/// A person as table 2 and the heading count them: what their earliest intervention (by start,
/// then id) says, copied out of the fact so that table 2 reads a small array in order instead
/// of a million facts in random order.
#[derive(Clone, Copy)]
struct Person {
    age: Option<AgeClass>,
    sex: Option<Sex>,
    education: Option<Education>,
    work_history: Option<WorkHistory>,
    key: u8,
}

impl Person {
    fn of(f: &Fact) -> Person {
        Person { age: f.age, sex: f.sex, education: f.education, work_history: f.work_history, key: f.key }
    }
}

/// Each person once, at their earliest intervention; facts of unknown people each stand for one.
fn people(facts: &[&Fact]) -> Vec<Person> {
    let mut unknown = Vec::new();
    // Person ids are database ids, dense from 1, in no particular order among the facts. A
    // hash map of a million entries took a fifth of the report's time at 1M, and one slot array
    // over every id missed the cache on nearly every fact; so the facts are first dealt into
    // buckets by id (written in order), then each bucket finds its people's earliest
    // intervention in a slot array that stays in the processor's cache.
    const SLOTS: u32 = 16;
    let bound = facts.len().saturating_mul(4) + 1024;
    if let Some(buckets) = deal(facts, bound, SLOTS, &mut unknown) {
        let earlier = |a: &Fact, b: &Fact| (a.start, a.intervention_id) < (b.start, b.intervention_id);
        let mut slot: Vec<u32> = vec![u32::MAX; 1 << SLOTS];
        // The winners are marked by position and copied out in the facts' own order.
        let mut first = vec![0u64; facts.len().div_ceil(64)];
        for (b, list) in buckets.iter().enumerate() {
            let base = (b as u32) << SLOTS;
            for &(person, i) in list {
                let s = &mut slot[(person - base) as usize];
                if *s == u32::MAX || earlier(facts[i as usize], facts[*s as usize]) {
                    *s = i;
                }
            }
            for s in slot.iter_mut().filter(|s| **s != u32::MAX) {
                first[*s as usize / 64] |= 1 << (*s % 64);
                *s = u32::MAX;
            }
        }
        let chosen = facts.iter().enumerate().filter(|(i, _)| first[i / 64] & (1 << (i % 64)) != 0);
        return chosen.map(|(_, f)| Person::of(f)).chain(unknown).collect();
    }
    unknown.clear();
    let mut first: HashMap<i64, &Fact> = HashMap::with_capacity_and_hasher(facts.len(), Default::default());
    for f in facts {
        if f.person_id <= 0 {
            unknown.push(Person::of(f));
            continue;
        }
        let slot = first.entry(f.person_id).or_insert(f);
        if (f.start, f.intervention_id) < (slot.start, slot.intervention_id) {
            *slot = f;
        }
    }
    // In no particular order: what is made of them (counts, sums of record keys) is the same
    // in any order.
    first.into_values().map(Person::of).chain(unknown).collect()
}

/// The tables of a report: seed 001's fourteen, then the analyses added since (15: durations).
pub const TABLES: u8 = 15;

fn table(number: u8, grids: Vec<Grid>) -> Table {
    Table { number, code: format!("t{number:02}"), grids }
}

fn t01(units: &Units) -> Grid {
    let rows = with(units.lines.clone(), [total()]);
    Grid::new(None, Label::msg("report-organisation"), rows, with(types(), [total()]), Percent::OfRow)
}

fn t02(people: &[Person]) -> Vec<Grid> {
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
    for p in people {
        age.record_key(p.age.map_or(na, |a| a.index()), p.sex.map_or(ns, |s| s.index()), p.key);
        edu.record_key(p.education.map_or(ne, |e| e.index()), 0, p.key);
        work.record_key(p.work_history.map_or(nw, |w| w.index()), 0, p.key);
    }
    vec![age.finish(), edu.finish(), work.finish()]
}

fn t03(units: &Units, planned: &[(i64, InterventionType, i64)]) -> Grid {
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
    let mut per_org: HashMap<i64, i64> = HashMap::default();
    for (org, _, n) in planned {
        *per_org.entry(*org).or_default() += n;
    }
    for (org, r) in &units.index {
        g.set_fixed(*r, TYPES.len() + 1, per_org.get(org).copied().unwrap_or(0));
    }
    g
}

/// Categories (plus "missing") down, the organisations or their kinds across.
fn by_unit_grid(title: Option<Label>, header: &str, categories: Vec<Line>, units: &Units) -> Grid {
    let rows = with(categories, [missing(), total()]);
    Grid::new(title, Label::msg(header), rows, with(units.lines.clone(), [total()]), Percent::OfColumn)
}

fn t04(units: &Units) -> Vec<Grid> {
    let grid = |title: &str| {
        let rows = cats("substance", Substance::ALL, |s| s.code());
        by_unit_grid(Some(Label::msg(title)), "report-substance", rows, units)
    };
    vec![grid("report-t04-start"), grid("report-t04-current")]
}

fn t05(units: &Units) -> Grid {
    by_unit_grid(None, "report-relapses", cats("relapse", RelapseBucket::ALL, |r| r.code()), units)
}

fn t06(units: &Units) -> Grid {
    let rows = with(units.lines.clone(), [total()]);
    let cols = vec![
        Line::new("completati", Label::msg("report-completed"), Role::Category),
        Line::new("prolungati", Label::msg("report-prolonged"), Role::Category),
        Line::new("lavoro", Label::msg("report-left-for-job"), Role::Category),
        Line::new("interrotti", Label::msg("report-interrupted"), Role::Category),
        Line::new("in_corso", Label::msg("report-ongoing"), Role::Missing),
        total(),
    ];
    Grid::new(None, Label::msg("report-organisation"), rows, cols, Percent::OfRow)
}

fn t07() -> Vec<Grid> {
    let rows = with(cats("positive_outcome", PositiveOutcome::ALL, |p| p.code()), [total()]);
    let kinds = Grid::new(
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
    let share = Grid::new(
        Some(Label::msg("report-t07-share")),
        Label::msg("report-conclusion"),
        rows,
        with(types(), [total()]),
        Percent::OfColumn,
    );
    vec![kinds, share]
}

fn t08() -> Grid {
    let rows = with(cats("interruption_reason", InterruptionReason::ALL, |r| r.code()), [total()]);
    Grid::new(None, Label::msg("report-reason"), rows, with(types(), [total()]), Percent::OfColumn)
}

fn t09() -> Grid {
    let rows = with(conclusion_cols()[..2].to_vec(), [total()]);
    let cols = vec![
        Line::new("almeno_una", Label::msg("report-at-least-one"), Role::Category),
        Line::new("nessuna", Label::msg("report-none"), Role::Category),
        missing(),
        total(),
    ];
    Grid::new(None, Label::msg("report-conclusion"), rows, cols, Percent::OfRow)
}

fn t10() -> Grid {
    let rows = with(cats("contract_kind", ContractKind::ALL, |c| c.code()), [total()]);
    let cols = vec![Line::new("n", Label::msg("report-n"), Role::Category)];
    Grid::new(None, Label::msg("report-contract"), rows, cols, Percent::OfColumn)
}

fn t11() -> Vec<Grid> {
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
    vec![section("a"), section("b"), section("c")]
}

fn t12() -> Grid {
    let rows = with(cats("autonomy_change", &AUTONOMY, |a| a.code()), [missing(), total()]);
    Grid::new(None, Label::msg("report-autonomy"), rows, conclusion_cols(), Percent::OfColumn)
}

fn t13(units: &Units) -> Grid {
    by_unit_grid(None, "report-evaluation", cats("evaluation", OverallEvaluation::ALL, |e| e.code()), units)
}

/// Headline figures: counts with the percentage of their own base, then the budget.
fn t14(n: &Figures, input: &Input) -> Grid {
    let planned: i64 = input.planned.iter().map(|(_, _, n)| n).sum();
    let activated = n.activated;
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

/// Months between two dates, in tenths (a month is 30.44 days on average), rounded: in
/// integers (days × 1000 / 3044; never exactly half way, 761 being prime), as a floating-point
/// `round` per fact cost a library call.
fn tenths_of_months(start: chrono::NaiveDate, end: chrono::NaiveDate) -> usize {
    let days = (end.num_days_from_ce() - start.num_days_from_ce()).max(0) as usize;
    (days * 1000 + 1522) / 3044
}

/// Durations of one group as counts per tenth of a month: mean and median without sorting.
#[derive(Default, Clone)]
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

    fn absorb(&mut self, other: &Durations) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.n += other.n;
        self.sum += other.sum;
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
fn t15() -> Grid {
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
    Grid::new(None, Label::msg("report-conclusion"), rows, cols, Percent::None)
}

/// Table 15's counted grid with the mean and median of each group written in.
fn with_durations(mut g: Grid, spans: &[Durations]) -> Grid {
    for (i, d) in spans.iter().enumerate() {
        let (r, t) = (i / DURATION_WIDTH, i % DURATION_WIDTH);
        if let Some((mean, median)) = d.mean_median() {
            g.cells[r][t * 3 + 1] = Cell::Months(mean);
            g.cells[r][t * 3 + 2] = Cell::Months(median);
        }
    }
    g
}

#[cfg(test)]
mod split_tests {
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

    /// Sparse person ids (beyond what slots are made for) find the same people with a map.
    #[test]
    fn sparse_person_ids_give_the_same_people() {
        let (facts, units) = input(3_000);
        let sparse: Vec<Fact> = facts.iter().map(|f| Fact { person_id: f.person_id * 100_003, ..f.clone() }).collect();
        let report = |facts: &[Fact]| {
            let input = Input {
                facts: facts.iter().collect(),
                units: units.clone(),
                planned: Vec::new(),
                budget: Budget::default(),
                by: GroupBy::Kind,
            };
            serde_json::to_value(build(&input, Some(Protection { secret: 5 }), None)).expect("json")
        };
        let (dense, spread) = (report(&facts), report(&sparse));
        assert_eq!(dense["persons"], spread["persons"]);
        assert_eq!(dense["tables"][1], spread["tables"][1], "table 2");
        assert!(dense["persons"].as_u64().is_some_and(|n| n > 2_000 && n < 3_000), "{}", dense["persons"]);
    }

    /// However the facts are cut between the two threads, every table (exact and protected)
    /// is the one a single pass over all of them makes.
    #[test]
    fn parts_add_up_to_the_single_pass() {
        let (facts, units) = input(5_000);
        let input = Input {
            facts: facts.iter().collect(),
            units,
            planned: vec![(1, InterventionType::ALL[0], 40), (2, InterventionType::ALL[1], 7)],
            budget: Budget::default(),
            by: GroupBy::Kind,
        };
        for protection in [None, Some(Protection { secret: 11 })] {
            let whole = serde_json::to_value(build_split(&input, protection, None, usize::MAX)).expect("json");
            for split in [0, 1, 7, 1000, 4999] {
                let cut = serde_json::to_value(build_split(&input, protection, None, split)).expect("json");
                assert_eq!(cut, whole, "split at {split}, protected: {}", protection.is_some());
            }
            for n in 1..=TABLES {
                let one = serde_json::to_value(build_split(&input, protection, Some(n), 13)).expect("json");
                assert_eq!(one["tables"][0], whole["tables"][n as usize - 1], "table {n} alone is the same table");
            }
        }
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;

    #[test]
    fn columns_and_rows_follow_the_seed_order() {
        for (i, t) in TYPES.iter().enumerate() {
            assert_eq!(type_col(*t), i);
        }
        for (i, a) in AUTONOMY.iter().enumerate() {
            assert_eq!(autonomy_row(*a), i);
        }
        for (i, s) in Substance::ALL.iter().enumerate() {
            assert_eq!(s.index(), i, "index is the position in ALL");
        }
    }
}

#[cfg(test)]
mod duration_tests {
    use super::Durations;

    #[test]
    fn tenths_of_months_round_like_the_division() {
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).expect("date");
        let start = d(2015, 1, 1);
        for days in 0..4000 {
            let end = start + chrono::Duration::days(days);
            let float = (days as f64 * 10.0 / 30.44).round() as usize;
            assert_eq!(super::tenths_of_months(start, end), float, "{days} days");
        }
        assert_eq!(super::tenths_of_months(d(2016, 5, 1), d(2016, 1, 1)), 0, "never negative");
    }

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
