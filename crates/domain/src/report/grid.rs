//! A report table's numbers: a grid of counts with its row and column totals, percentages on
//! non-missing values, and the disclosure control applied before anyone without identifiable
//! access sees it.

use serde::Serialize;

/// What a row or column says: a message of the interface (translated when rendered) or a
/// literal such as an organisation's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Label {
    Msg(String),
    Text(String),
}

impl Label {
    pub fn msg(id: impl Into<String>) -> Label {
        Label::Msg(id.into())
    }
    pub fn text(s: impl Into<String>) -> Label {
        Label::Text(s.into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A value of the variable: part of the percentage base.
    Category,
    /// "Mancante": counted in the total, shown, excluded from the percentage base.
    Missing,
    /// The sum of a group's categories (e.g. all SerD of the AUSL).
    Subtotal,
    Total,
    /// A number that is not a count of people (planned interventions): never suppressed.
    Fixed,
    /// Total minus the `Fixed` column of the same row (activated − planned).
    Difference,
    /// A statistic of the records counted in the nearest count column to its left (a mean or
    /// median duration): shown only where that count is at least the threshold.
    Statistic,
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// Stable machine code for exports (`M`, `mancante`, `org-12`, `totale`).
    pub code: String,
    pub label: Label,
    pub role: Role,
    /// Rows of a group point at their subtotal row's group number.
    pub group: Option<usize>,
}

impl Line {
    pub fn new(code: impl Into<String>, label: Label, role: Role) -> Line {
        Line { code: code.into(), label, role, group: None }
    }
    pub fn in_group(mut self, g: usize) -> Line {
        self.group = Some(g);
        self
    }
}

/// A cell's (row, column).
pub type At = (usize, usize);

/// An equation a reader could use: the parts add up to the total.
pub type Equation = (Vec<At>, At);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Percent {
    None,
    /// Each row's categories add up to 100.
    OfRow,
    /// Each column's categories add up to 100.
    OfColumn,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Cell {
    Count(u64),
    /// A count of 1–4 ("<5").
    Suppressed,
    /// Hidden so that no count of 1–4 can be worked out from the totals (complementary).
    Hidden,
    Fixed(i64),
    Signed(i64),
    /// Cents.
    Money(i64),
    /// A duration in tenths of a month.
    Months(i64),
    Empty,
}

impl Cell {
    pub fn is_hidden(self) -> bool {
        matches!(self, Cell::Suppressed | Cell::Hidden)
    }
}

/// A grid of counts. Cells are filled by the table builders; totals and subtotals are computed
/// here, so they always add up.
#[derive(Debug, Clone, Serialize)]
pub struct Grid {
    pub title: Option<Label>,
    pub row_header: Label,
    pub columns: Vec<Line>,
    pub rows: Vec<Line>,
    pub percent: Percent,
    pub cells: Vec<Vec<Cell>>,
    /// Percentages, parallel to `cells` (None where not applicable or hidden).
    pub percents: Vec<Vec<Option<f64>>>,
    /// Each cell's key: the sum of its records' keys (see [`Grid::protect`]).
    #[serde(skip)]
    keys: Vec<Vec<u32>>,
    /// Whether the cells were counted record by record (with keys).
    #[serde(skip)]
    keyed: bool,
    /// Records counted and their keys summed, one flat slot per cell (row-major), folded into
    /// `cells` and `keys` by [`Grid::finish`]: the builders' inner loop over a million facts
    /// then does one indexed add instead of a nested lookup and a match.
    #[serde(skip)]
    tally: Vec<(u64, u32)>,
}

impl Grid {
    pub fn new(title: Option<Label>, row_header: Label, rows: Vec<Line>, columns: Vec<Line>, percent: Percent) -> Grid {
        let cells = vec![vec![Cell::Empty; columns.len()]; rows.len()];
        let percents = vec![vec![None; columns.len()]; rows.len()];
        let keys = vec![vec![0; columns.len()]; rows.len()];
        let tally = vec![(0, 0); rows.len() * columns.len()];
        Grid { title, row_header, columns, rows, percent, cells, percents, keys, keyed: false, tally }
    }

    fn is_count_row(&self, r: usize) -> bool {
        matches!(self.rows[r].role, Role::Category | Role::Missing)
    }
    fn is_count_col(&self, c: usize) -> bool {
        matches!(self.columns[c].role, Role::Category | Role::Missing)
    }

    /// Adds to a category/missing cell (the builders' only way to fill a grid).
    pub fn add(&mut self, r: usize, c: usize, n: u64) {
        if let Cell::Count(v) = &mut self.cells[r][c] {
            *v += n;
        } else {
            self.cells[r][c] = Cell::Count(n);
        }
    }

    /// Counts one record (an intervention) in a category/missing cell, with its secret key.
    #[inline]
    pub fn record(&mut self, r: usize, c: usize, f: &super::Fact) {
        self.record_key(r, c, f.key);
    }

    /// Counts one record given only its secret key (a person of table 2).
    #[inline]
    pub fn record_key(&mut self, r: usize, c: usize, key: u8) {
        debug_assert!(r < self.rows.len() && c < self.columns.len());
        let slot = &mut self.tally[r * self.columns.len() + c];
        slot.0 += 1;
        slot.1 = slot.1.wrapping_add(u32::from(key));
    }

    /// Adds the records another grid of the same table tallied (over other facts) to this one's.
    pub fn absorb(&mut self, other: &Grid) {
        debug_assert_eq!(self.tally.len(), other.tally.len(), "grids of the same table");
        for (a, b) in self.tally.iter_mut().zip(&other.tally) {
            a.0 += b.0;
            a.1 = a.1.wrapping_add(b.1);
        }
    }

    /// Moves the tallied records into the cells and their keys.
    fn fold_tally(&mut self) {
        let nc = self.columns.len();
        let tally = std::mem::take(&mut self.tally);
        for (i, (n, key)) in tally.into_iter().enumerate() {
            if n > 0 {
                let (r, c) = (i / nc, i % nc);
                self.add(r, c, n);
                self.keys[r][c] = self.keys[r][c].wrapping_add(key);
                self.keyed = true;
            }
        }
    }

    pub fn set_fixed(&mut self, r: usize, c: usize, v: i64) {
        self.cells[r][c] = Cell::Fixed(v);
    }

    pub fn count(&self, r: usize, c: usize) -> u64 {
        match self.cells[r][c] {
            Cell::Count(v) => v,
            _ => 0,
        }
    }

    /// Fills every count cell left empty with zero, then subtotals, totals, differences and
    /// percentages.
    pub fn finish(mut self) -> Grid {
        self.fold_tally();
        let (nr, nc) = (self.rows.len(), self.columns.len());
        for r in 0..nr {
            for c in 0..nc {
                let counts = !matches!(self.columns[c].role, Role::Fixed | Role::Difference | Role::Statistic);
                if counts && matches!(self.cells[r][c], Cell::Empty) {
                    self.cells[r][c] = Cell::Count(0);
                }
            }
        }
        // Column sums first (subtotal and total rows), then row totals over every row.
        for c in 0..nc {
            if !self.is_count_col(c) && self.columns[c].role != Role::Total {
                continue;
            }
            for r in 0..nr {
                match self.rows[r].role {
                    Role::Subtotal => {
                        let g = self.rows[r].group;
                        let members: Vec<usize> =
                            (0..nr).filter(|&i| self.is_count_row(i) && self.rows[i].group == g).collect();
                        self.cells[r][c] = Cell::Count(members.iter().map(|&i| self.count(i, c)).sum());
                        self.keys[r][c] = members.iter().fold(0u32, |k, &i| k.wrapping_add(self.keys[i][c]));
                    }
                    Role::Total => {
                        let members: Vec<usize> = (0..nr).filter(|&i| self.is_count_row(i)).collect();
                        self.cells[r][c] = Cell::Count(members.iter().map(|&i| self.count(i, c)).sum());
                        self.keys[r][c] = members.iter().fold(0u32, |k, &i| k.wrapping_add(self.keys[i][c]));
                    }
                    _ => {}
                }
            }
        }
        for r in 0..nr {
            if let Some(t) = self.columns.iter().position(|l| l.role == Role::Total) {
                let members: Vec<usize> = (0..nc).filter(|&c| self.is_count_col(c)).collect();
                self.cells[r][t] = Cell::Count(members.iter().map(|&c| self.count(r, c)).sum());
                self.keys[r][t] = members.iter().fold(0u32, |k, &c| k.wrapping_add(self.keys[r][c]));
            }
            self.fill_difference(r);
        }
        self.fill_fixed_totals();
        self.compute_percents();
        self
    }

    fn fill_fixed_totals(&mut self) {
        for c in 0..self.columns.len() {
            if self.columns[c].role != Role::Fixed {
                continue;
            }
            for r in 0..self.rows.len() {
                let members: Vec<usize> = match self.rows[r].role {
                    Role::Subtotal => (0..self.rows.len())
                        .filter(|&i| self.is_count_row(i) && self.rows[i].group == self.rows[r].group)
                        .collect(),
                    Role::Total => (0..self.rows.len()).filter(|&i| self.is_count_row(i)).collect(),
                    _ => continue,
                };
                let s = members.iter().map(|&i| if let Cell::Fixed(v) = self.cells[i][c] { v } else { 0 }).sum();
                self.cells[r][c] = Cell::Fixed(s);
                self.fill_difference(r);
            }
        }
    }

    fn fill_difference(&mut self, r: usize) {
        let total = self.columns.iter().position(|l| l.role == Role::Total);
        let fixed = self.columns.iter().position(|l| l.role == Role::Fixed);
        let diff = self.columns.iter().position(|l| l.role == Role::Difference);
        if let (Some(t), Some(f), Some(d)) = (total, fixed, diff) {
            self.cells[r][d] = match (self.cells[r][t], self.cells[r][f]) {
                (Cell::Count(a), Cell::Fixed(p)) => Cell::Signed(a as i64 - p),
                (Cell::Count(a), _) => Cell::Signed(a as i64),
                _ => Cell::Empty,
            };
        }
    }

    /// The equations a reader could use: each is (parts, total).
    pub fn lines(&self) -> Vec<Equation> {
        let (nr, nc) = (self.rows.len(), self.columns.len());
        let mut out = Vec::new();
        let count_cols: Vec<usize> = (0..nc).filter(|&c| self.is_count_col(c)).collect();
        let total_col = self.columns.iter().position(|l| l.role == Role::Total);
        let total_row = self.rows.iter().position(|l| l.role == Role::Total);
        if let Some(t) = total_col {
            for r in 0..nr {
                out.push((count_cols.iter().map(|&c| (r, c)).collect(), (r, t)));
            }
        }
        let mut cols = count_cols.clone();
        cols.extend(total_col);
        for &c in &cols {
            let mut top = Vec::new();
            for r in 0..nr {
                match self.rows[r].role {
                    Role::Subtotal => {
                        let g = self.rows[r].group;
                        let parts = (0..nr)
                            .filter(|&i| self.is_count_row(i) && self.rows[i].group == g)
                            .map(|i| (i, c))
                            .collect();
                        out.push((parts, (r, c)));
                        top.push((r, c));
                    }
                    Role::Category | Role::Missing if self.rows[r].group.is_none() => top.push((r, c)),
                    _ => {}
                }
            }
            if let Some(t) = total_row {
                out.push((top, (t, c)));
            }
        }
        out
    }

    fn hidden(&self, rc: (usize, usize)) -> bool {
        self.cells[rc.0][rc.1].is_hidden()
    }

    /// The disclosure control every aggregate goes through for viewers without identifiable
    /// access (ADR 0014): counts of 1–4 are shown as "<5"; every other non-zero count, totals
    /// included, is moved by a small amount (at most [`MAX_NOISE`], never below the threshold)
    /// that is a fixed function of the count and of the cell's key — the sum of its records'
    /// secret keys — so the same records always show the same number in every table and every
    /// query, and the difference of two queries carries the noise of both. Then, where the
    /// published numbers, their known bounds and the table's equations would still pin down a
    /// "<5" cell, the total of that line is withheld ("n.d."). Percentages and differences are
    /// computed from what is shown.
    pub fn protect(mut self, p: Protection) -> Grid {
        let (nr, nc) = (self.rows.len(), self.columns.len());
        // A mean or median of fewer records than the threshold tells about those few: gone
        // before the counts it is judged on are protected.
        for c in (0..nc).filter(|&c| self.columns[c].role == Role::Statistic) {
            let Some(n_col) = (0..c).rev().find(|&k| self.columns[k].role != Role::Statistic) else { continue };
            for r in 0..nr {
                if matches!(self.cells[r][n_col], Cell::Count(n) if n < THRESHOLD) {
                    self.cells[r][c] = Cell::Hidden;
                }
            }
        }
        for r in 0..nr {
            for c in 0..nc {
                let Cell::Count(n) = self.cells[r][c] else { continue };
                // An empty cell has no records: its key comes from where it is.
                let key = if self.keyed && n > 0 {
                    self.keys[r][c]
                } else {
                    p.cell_key(&self.rows[r].code, &self.columns[c].code)
                };
                self.cells[r][c] = protect_count(n, key);
            }
        }
        for r in 0..nr {
            self.fill_difference(r);
        }
        let lines = self.lines();
        // A safety net: each round withholds one more cell (a line's total, or the exposed cell
        // itself when no total is left to withhold), so it ends.
        while let Some(exposed) = exposed_cell(&self.cells, &lines) {
            let total = lines
                .iter()
                .filter(|(parts, _)| parts.contains(&exposed))
                .map(|(_, t)| *t)
                .find(|t| !self.hidden(*t) && !matches!(self.cells[t.0][t.1], Cell::Count(0)));
            let (r, c) = total.unwrap_or(exposed);
            self.cells[r][c] = Cell::Hidden;
        }
        // A difference reveals its total.
        if let (Some(t), Some(d)) = (
            self.columns.iter().position(|l| l.role == Role::Total),
            self.columns.iter().position(|l| l.role == Role::Difference),
        ) {
            for r in 0..nr {
                if self.cells[r][t].is_hidden() {
                    self.cells[r][d] = Cell::Hidden;
                }
            }
        }
        self.compute_percents();
        self
    }

    /// Percentages on the non-missing categories of each row or column, one decimal when shown.
    fn compute_percents(&mut self) {
        let (nr, nc) = (self.rows.len(), self.columns.len());
        let by_row = match self.percent {
            // Percentages set by the builder stay, except on hidden cells.
            Percent::None => {
                for r in 0..nr {
                    for c in 0..nc {
                        if self.cells[r][c].is_hidden() {
                            self.percents[r][c] = None;
                        }
                    }
                }
                return;
            }
            Percent::OfRow => true,
            Percent::OfColumn => false,
        };
        self.percents = vec![vec![None; nc]; nr];
        let (outer, inner) = if by_row { (nr, nc) } else { (nc, nr) };
        for o in 0..outer {
            let at = |i: usize| if by_row { (o, i) } else { (i, o) };
            let role = |i: usize| if by_row { self.columns[i].role } else { self.rows[i].role };
            let hidden_missing =
                (0..inner).any(|i| role(i) == Role::Missing && self.cells[at(i).0][at(i).1].is_hidden());
            let base_parts: Vec<usize> = (0..inner).filter(|&i| role(i) == Role::Category).collect();
            let any_hidden_base = base_parts.iter().any(|&i| self.cells[at(i).0][at(i).1].is_hidden());
            let total_hidden =
                (0..inner).filter(|&i| role(i) == Role::Total).any(|i| self.cells[at(i).0][at(i).1].is_hidden());
            if hidden_missing || (any_hidden_base && total_hidden) {
                continue;
            }
            let base: u64 = match (0..inner).find(|&i| role(i) == Role::Total) {
                Some(t) if any_hidden_base => {
                    let (r, c) = at(t);
                    let missing: u64 =
                        (0..inner).filter(|&i| role(i) == Role::Missing).map(|i| self.count(at(i).0, at(i).1)).sum();
                    // Shown counts are perturbed: the base never goes below zero.
                    self.count(r, c).saturating_sub(missing)
                }
                _ => base_parts.iter().map(|&i| self.count(at(i).0, at(i).1)).sum(),
            };
            if base == 0 {
                continue;
            }
            for i in 0..inner {
                let (r, c) = at(i);
                let shown = match role(i) {
                    Role::Category => matches!(self.cells[r][c], Cell::Count(_)),
                    Role::Total => !self.cells[r][c].is_hidden(),
                    _ => false,
                };
                let perpendicular = if by_row { self.rows[r].role } else { self.columns[c].role };
                if shown && perpendicular != Role::Fixed && perpendicular != Role::Difference {
                    let v = if role(i) == Role::Total { base } else { self.count(r, c) };
                    self.percents[r][c] = Some(round1(v as f64 * 100.0 / base as f64));
                }
            }
        }
    }
}

/// One decimal, half away from zero, as the seed prints.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Counts below this are never shown (as "<5").
pub const THRESHOLD: u64 = 5;
/// The largest amount a shown count differs from the true one.
pub const MAX_NOISE: u64 = 2;

/// How a count moves, by a pseudo-random draw from its cell key and its value: mostly not at
/// all, ±1 often, ±2 rarely; zero on average.
const PERTURBATION: [i8; 16] = [-2, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2];

/// The installation's secret for cells counted without record keys (dashboards read counts
/// from the database): their key derives from it and the cell's row and column.
#[derive(Debug, Clone, Copy)]
pub struct Protection {
    pub secret: u64,
}

impl Protection {
    /// The key of a cell counted without record keys, named by its row and column codes.
    pub fn cell_key(self, row: &str, column: &str) -> u32 {
        let mut h = self.secret;
        for b in row.bytes().chain([0xff]).chain(column.bytes()) {
            h = mix(h ^ u64::from(b));
        }
        (h >> 32) as u32
    }
}

/// splitmix64's finaliser: a bijective mixing of 64 bits.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A count moved by the perturbation its value and cell key draw (never below zero).
pub fn perturb(n: u64, key: u32) -> u64 {
    let draw = mix(u64::from(key & 0xff) << 40 ^ n.min(1 << 39));
    let p = i64::from(PERTURBATION[(draw >> 60) as usize]);
    (n as i64 + p).max(0) as u64
}

/// One count as anyone without identifiable access may see it, by the rule of
/// [`Grid::protect`]: the count is perturbed by its key and shown as "<5" when the perturbed
/// value is below the threshold (so "<5" stands for 0–6 people, and a count of 1–4 may read 5
/// or 6); an empty cell reads "0" or "<5", one time in two by its key, so "<5" never says
/// someone is there.
pub fn protect_count(n: u64, key: u32) -> Cell {
    if n == 0 {
        return if mix(u64::from(key)) & 1 == 0 { Cell::Suppressed } else { Cell::Count(0) };
    }
    match perturb(n, key) {
        s if s < THRESHOLD => Cell::Suppressed,
        s => Cell::Count(s),
    }
}

/// What a reader knows of a published cell: the least and most its true count can be.
pub fn bounds(cell: Cell) -> (i64, i64) {
    const UNKNOWN: i64 = i64::MAX / 1024;
    match cell {
        // Zero, and below the threshold only in an unprotected grid: exact.
        Cell::Count(v) if v < THRESHOLD => (v as i64, v as i64),
        // A shown number comes from a count of at least one, moved by at most MAX_NOISE.
        Cell::Count(v) => ((v - MAX_NOISE).max(1) as i64, (v + MAX_NOISE) as i64),
        Cell::Suppressed => (0, (THRESHOLD - 1 + MAX_NOISE) as i64),
        _ => (0, UNKNOWN),
    }
}

/// The attack the protection is measured against: interval constraint propagation. Starting
/// from each published cell's bounds, every equation (parts add up to the total) tightens the
/// bounds of its members until nothing changes. Returns the bounds reached.
pub fn narrow(cells: &[Vec<Cell>], lines: &[Equation]) -> Vec<Vec<(i64, i64)>> {
    let mut b: Vec<Vec<(i64, i64)>> = cells.iter().map(|row| row.iter().map(|c| bounds(*c)).collect()).collect();
    narrow_bounds(&mut b, lines);
    b
}

/// Tightens `b` by the equations until a fixed point (or 500 rounds, far beyond what tables
/// need); also the attacker's tool across tables and queries in the tests.
pub fn narrow_bounds(b: &mut [Vec<(i64, i64)>], lines: &[Equation]) {
    for _ in 0..500 {
        let mut changed = false;
        for (parts, total) in lines {
            let lo_sum: i64 = parts.iter().fold(0i64, |a, p| a.saturating_add(b[p.0][p.1].0));
            let hi_sum: i64 = parts.iter().fold(0i64, |a, p| a.saturating_add(b[p.0][p.1].1));
            let t = b[total.0][total.1];
            let nt = (t.0.max(lo_sum), t.1.min(hi_sum));
            if nt != t {
                b[total.0][total.1] = nt;
                changed = true;
            }
            let (tlo, thi) = b[total.0][total.1];
            for p in parts {
                let (lo, hi) = b[p.0][p.1];
                let n = (
                    lo.max(tlo.saturating_sub(hi_sum.saturating_sub(hi))),
                    hi.min(thi.saturating_sub(lo_sum.saturating_sub(lo))),
                );
                if n != (lo, hi) {
                    b[p.0][p.1] = n;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// A cell whose count the published grid pins to one value of 1–4, if any (a pinned 0 is an
/// empty cell, shown "0" half of the time anyway; large counts are not protected values).
fn exposed_cell(cells: &[Vec<Cell>], lines: &[Equation]) -> Option<At> {
    let b = narrow(cells, lines);
    let small = 1..THRESHOLD as i64;
    cells.iter().enumerate().find_map(|(r, row)| {
        row.iter().enumerate().find_map(|(c, cell)| {
            let (lo, hi) = b[r][c];
            (matches!(cell, Cell::Suppressed | Cell::Count(_)) && lo == hi && small.contains(&lo)).then_some((r, c))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn cat(code: &str) -> Line {
        Line::new(code, Label::text(code), Role::Category)
    }

    fn grid(counts: &[&[u64]], percent: Percent) -> Grid {
        let mut rows: Vec<Line> = (0..counts.len()).map(|i| cat(&format!("r{i}"))).collect();
        rows.push(Line::new("t", Label::text("t"), Role::Total));
        let mut cols: Vec<Line> = (0..counts[0].len()).map(|i| cat(&format!("c{i}"))).collect();
        cols.push(Line::new("t", Label::text("t"), Role::Total));
        let mut g = Grid::new(None, Label::text("x"), rows, cols, percent);
        for (r, row) in counts.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                g.add(r, c, *v);
            }
        }
        g.finish()
    }

    #[test]
    fn totals_and_percentages_on_non_missing() {
        let mut rows = vec![cat("a"), cat("b"), Line::new("m", Label::text("m"), Role::Missing)];
        rows.push(Line::new("t", Label::text("t"), Role::Total));
        let cols = vec![cat("x"), Line::new("t", Label::text("t"), Role::Total)];
        let mut g = Grid::new(None, Label::text("r"), rows, cols, Percent::OfColumn);
        g.add(0, 0, 72);
        g.add(1, 0, 68);
        g.add(2, 0, 6);
        let g = g.finish();
        assert_eq!(g.cells[3][0], Cell::Count(146));
        assert_eq!(g.percents[0][0], Some(51.4));
        assert_eq!(g.percents[2][0], None, "missing has no percentage");
        assert_eq!(g.percents[3][0], Some(100.0));
    }

    const P: Protection = Protection { secret: 0x5eed };

    /// A grid counted record by record, each record with a key from `rng`.
    fn keyed(counts: &[&[u64]], rng: &mut rand::rngs::StdRng) -> Grid {
        let mut rows: Vec<Line> = (0..counts.len()).map(|i| cat(&format!("r{i}"))).collect();
        rows.push(Line::new("t", Label::text("t"), Role::Total));
        let mut cols: Vec<Line> = (0..counts[0].len()).map(|i| cat(&format!("c{i}"))).collect();
        cols.push(Line::new("t", Label::text("t"), Role::Total));
        let mut g = Grid::new(None, Label::text("x"), rows, cols, Percent::OfRow);
        for (r, row) in counts.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                for _ in 0..*v {
                    let f = super::super::Fact { key: rng.random(), ..fact() };
                    g.record(r, c, &f);
                }
            }
        }
        g.finish()
    }

    fn fact() -> super::super::Fact {
        super::super::Fact::unclassified(1, 1, 1, crate::programme::InterventionType::ALL[0])
    }

    #[test]
    fn small_counts_read_less_than_five_and_the_others_move_by_at_most_two() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let exact = keyed(&[&[10, 3], &[20, 30], &[0, 7]], &mut rng);
        let shown = exact.clone().protect(P);
        assert!(matches!(shown.cells[0][1], Cell::Suppressed | Cell::Count(5)), "3 reads <5 (or 5)");
        assert!(matches!(shown.cells[2][0], Cell::Count(0) | Cell::Suppressed), "a zero is 0 or <5");
        for (r, row) in exact.cells.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                match (cell, shown.cells[r][c]) {
                    (Cell::Count(n @ 1..), Cell::Count(v)) => {
                        assert!(n.abs_diff(v) <= MAX_NOISE && v >= THRESHOLD, "{n} shown as {v}")
                    }
                    (Cell::Count(n @ 1..), Cell::Suppressed) => assert!(*n < THRESHOLD + MAX_NOISE, "{n} read <5"),
                    _ => {}
                }
            }
        }
        assert!(shown.percents[0][1].is_none());
    }

    /// The same records give the same shown value whatever else is in the table (and in every
    /// report): nothing can be averaged away by asking again.
    #[test]
    fn the_same_records_always_show_the_same_number() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let keys: Vec<u8> = (0..40).map(|_| rng.random()).collect();
        let count = |extra: u64| {
            let rows = vec![cat("a"), cat("b"), Line::new("t", Label::text("t"), Role::Total)];
            let cols = vec![cat("x"), Line::new("t", Label::text("t"), Role::Total)];
            let mut g = Grid::new(None, Label::text("r"), rows, cols, Percent::None);
            for k in &keys {
                g.record(0, 0, &super::super::Fact { key: *k, ..fact() });
            }
            for _ in 0..extra {
                g.record(1, 0, &super::super::Fact { key: 9, ..fact() });
            }
            g.finish().protect(P).cells[0][0]
        };
        assert_eq!(count(0), count(12));
        assert_eq!(count(5), count(30));
    }

    /// The attack that recovered cells from the old suppression: "<5, <5, 7, total 9" gives 1
    /// and 1 once the reader knows "<5" is 1–4. With perturbed totals it does not.
    #[test]
    fn bounds_no_longer_pin_small_cells() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let exact = keyed(&[&[1, 1, 7], &[20, 30, 12]], &mut rng);
            let shown = exact.protect(P);
            let b = narrow(&shown.cells, &shown.lines());
            for (r, row) in shown.cells.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    if *cell == Cell::Suppressed {
                        assert!(b[r][c].0 < b[r][c].1, "cell ({r},{c}) pinned: {:?} in {:?}", b[r][c], shown.cells);
                    }
                }
            }
        }
    }

    #[test]
    fn dashboards_without_record_keys_are_protected_too() {
        let g = grid(&[&[10, 3], &[20, 30]], Percent::None).protect(P);
        assert!(matches!(g.cells[0][1], Cell::Suppressed | Cell::Count(5)));
        let again = grid(&[&[10, 3], &[20, 30]], Percent::None).protect(P);
        assert_eq!(g.cells, again.cells, "deterministic");
    }

    /// A mean of three durations tells about those three: withheld with their count.
    #[test]
    fn statistics_of_fewer_than_five_records_are_withheld() {
        let rows = vec![cat("a"), cat("b"), Line::new("t", Label::text("t"), Role::Total)];
        let cols = vec![cat("n"), Line::new("n-media", Label::text("m"), Role::Statistic)];
        let mut g = Grid::new(None, Label::text("x"), rows, cols, Percent::None);
        g.add(0, 0, 3);
        g.add(1, 0, 12);
        let mut g = g.finish();
        for r in 0..3 {
            g.cells[r][1] = Cell::Months(95);
        }
        let shown = g.protect(P);
        assert_eq!(shown.cells[0][1], Cell::Hidden);
        assert_eq!(shown.cells[1][1], Cell::Months(95));
        assert_eq!(shown.cells[2][1], Cell::Months(95), "the total has 15");
    }

    #[test]
    fn empty_cells_read_zero_or_less_than_five() {
        let g = grid(&[&[0, 0], &[0, 0]], Percent::OfRow).protect(P);
        assert!(g.cells.iter().flatten().all(|c| matches!(c, Cell::Count(0) | Cell::Suppressed)));
        assert!(g.percents.iter().flatten().all(Option::is_none));
    }

    /// Property: for random grids with groups and missing rows, every count of 1–4 is shown as
    /// "<5", the bounds a reader derives always contain the truth (so the attack model is
    /// sound), and no "<5" cell is pinned down by them.
    #[test]
    fn property_no_small_count_is_pinned_down() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for case in 0..400 {
            let groups = rng.random_range(0..3);
            let mut rows = Vec::new();
            for g in 0..groups {
                for i in 0..rng.random_range(1..4) {
                    rows.push(cat(&format!("g{g}r{i}")).in_group(g));
                }
                rows.push(Line::new(format!("s{g}"), Label::text("s"), Role::Subtotal).in_group(g));
            }
            for i in 0..rng.random_range(if groups == 0 { 1 } else { 0 }..4) {
                rows.push(cat(&format!("r{i}")));
            }
            if rng.random_bool(0.5) {
                rows.push(Line::new("m", Label::text("m"), Role::Missing));
            }
            rows.push(Line::new("t", Label::text("t"), Role::Total));
            let ncat = rng.random_range(1..5);
            let mut cols: Vec<Line> = (0..ncat).map(|i| cat(&format!("c{i}"))).collect();
            cols.push(Line::new("t", Label::text("t"), Role::Total));
            let mut g = Grid::new(None, Label::text("x"), rows, cols, Percent::OfColumn);
            for r in 0..g.rows.len() {
                if matches!(g.rows[r].role, Role::Category | Role::Missing) {
                    for c in 0..ncat {
                        let v = if rng.random_bool(0.4) { rng.random_range(0..5) } else { rng.random_range(0..40) };
                        for _ in 0..v {
                            g.record(r, c, &super::super::Fact { key: rng.random(), ..fact() });
                        }
                    }
                }
            }
            let exact = g.finish();
            let shown = exact.clone().protect(P);
            let b = narrow(&shown.cells, &shown.lines());
            for (r, row) in exact.cells.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    let Cell::Count(n) = *cell else { continue };
                    let (lo, hi) = b[r][c];
                    assert!(lo <= n as i64 && n as i64 <= hi, "case {case}: bounds {lo}..{hi} miss the true {n}");
                    if (1..THRESHOLD).contains(&n) {
                        let ok = match shown.cells[r][c] {
                            Cell::Count(v) => v >= THRESHOLD && v.abs_diff(n) <= MAX_NOISE,
                            other => other.is_hidden(),
                        };
                        assert!(ok, "case {case}: small cell {n} shown as {:?}", shown.cells[r][c]);
                        assert!(lo < hi, "case {case}: small cell ({r},{c}) = {n} pinned down");
                    }
                    if shown.cells[r][c].is_hidden() {
                        assert!(shown.percents[r][c].is_none());
                    }
                }
            }
        }
    }
}
