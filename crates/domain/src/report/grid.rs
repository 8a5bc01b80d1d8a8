//! A report table's numbers: a grid of counts with its row and column totals, percentages on
//! non-missing values, and small-cell suppression that no total can undo.

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

/// How much we would rather hide a cell next (smaller first): not a total or a zero, shields
/// more exposed lines, smaller value.
type Preference = (bool, std::cmp::Reverse<usize>, u64);

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
}

impl Grid {
    pub fn new(title: Option<Label>, row_header: Label, rows: Vec<Line>, columns: Vec<Line>, percent: Percent) -> Grid {
        let cells = vec![vec![Cell::Empty; columns.len()]; rows.len()];
        let percents = vec![vec![None; columns.len()]; rows.len()];
        Grid { title, row_header, columns, rows, percent, cells, percents }
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
        let (nr, nc) = (self.rows.len(), self.columns.len());
        for r in 0..nr {
            for c in 0..nc {
                let counts = !matches!(self.columns[c].role, Role::Fixed | Role::Difference);
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
                        let s = (0..nr)
                            .filter(|&i| self.is_count_row(i) && self.rows[i].group == g)
                            .map(|i| self.count(i, c))
                            .sum();
                        self.cells[r][c] = Cell::Count(s);
                    }
                    Role::Total => {
                        let s = (0..nr).filter(|&i| self.is_count_row(i)).map(|i| self.count(i, c)).sum();
                        self.cells[r][c] = Cell::Count(s);
                    }
                    _ => {}
                }
            }
        }
        for r in 0..nr {
            if let Some(t) = self.columns.iter().position(|l| l.role == Role::Total) {
                let s = (0..nc).filter(|&c| self.is_count_col(c)).map(|c| self.count(r, c)).sum();
                self.cells[r][t] = Cell::Count(s);
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

    /// Hides counts of 1–4, then as many other cells as needed so that no hidden count can be
    /// worked out from the totals (by any combination of row, column and group equations), then
    /// the percentages and differences that would give a hidden count away.
    pub fn suppress(mut self) -> Grid {
        let nr = self.rows.len();
        let originals = self.cells.clone();
        for row in self.cells.iter_mut() {
            for cell in row.iter_mut() {
                if matches!(cell, Cell::Count(1..=4)) {
                    *cell = Cell::Suppressed;
                }
            }
        }
        let lines = self.lines();
        let value = |rc: (usize, usize)| match originals[rc.0][rc.1] {
            Cell::Count(v) => v,
            _ => 0,
        };
        while let Some(exposed) = determined(&self.cells, &lines) {
            // Hide the smallest visible part of a line that gives the cell away (one where it is
            // the only hidden cell, if any), preferring non-zero counts, which protect more;
            // the line's total only when nothing else is left.
            let through: Vec<&Equation> = lines.iter().filter(|(p, t)| p.contains(&exposed) || *t == exposed).collect();
            let hidden_in = |(p, t): &Equation| p.iter().chain([t]).filter(|rc| self.hidden(**rc)).count();
            let single: Vec<&Equation> = through.iter().copied().filter(|l| hidden_in(l) == 1).collect();
            let candidates = if single.is_empty() { through } else { single };
            // A cell that also sits in other lines with a lone hidden cell protects those too.
            let exposing: Vec<&Equation> = lines.iter().filter(|l| hidden_in(l) == 1).collect();
            let shields = |rc: At| exposing.iter().filter(|(p, t)| p.contains(&rc) || *t == rc).count();
            let mut best: Option<(At, Preference)> = None;
            for (parts, total) in candidates {
                let mut members = parts.clone();
                members.push(*total);
                for &rc in members.iter().filter(|&&rc| rc != exposed && !self.hidden(rc)) {
                    let is_total = rc == *total;
                    let key = (is_total || value(rc) == 0, std::cmp::Reverse(shields(rc)), value(rc));
                    if best.is_none_or(|(_, k)| key < k) {
                        best = Some((rc, key));
                    }
                }
            }
            match best {
                Some((rc, _)) => self.cells[rc.0][rc.1] = Cell::Hidden,
                // Nothing left to hide around it: the whole grid goes.
                None => {
                    for r in 0..nr {
                        for c in 0..self.columns.len() {
                            if matches!(self.cells[r][c], Cell::Count(_)) {
                                self.cells[r][c] = Cell::Hidden;
                            }
                        }
                    }
                }
            }
        }
        // Differences reveal their total; percentages reveal a hidden "missing" count through
        // the base, and of course the hidden cell itself.
        for r in 0..nr {
            if let (Some(t), Some(d)) = (
                self.columns.iter().position(|l| l.role == Role::Total),
                self.columns.iter().position(|l| l.role == Role::Difference),
            ) {
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
                    self.count(r, c) - missing
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
                    Role::Total => true,
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

/// A hidden cell whose value follows from the visible cells and the equations, if any.
/// Gaussian elimination over the hidden cells: a cell is determined exactly when its unit
/// vector lies in the row space of the equations.
pub fn determined(cells: &[Vec<Cell>], lines: &[Equation]) -> Option<At> {
    let mut vars: Vec<(usize, usize)> = Vec::new();
    for (r, row) in cells.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if cell.is_hidden() {
                vars.push((r, c));
            }
        }
    }
    if vars.is_empty() {
        return None;
    }
    let index = |rc: (usize, usize)| vars.iter().position(|v| *v == rc);
    let mut m: Vec<Vec<f64>> = Vec::new();
    for (parts, total) in lines {
        let mut eq = vec![0.0; vars.len()];
        for p in parts {
            if let Some(i) = index(*p) {
                eq[i] += 1.0;
            }
        }
        if let Some(i) = index(*total) {
            eq[i] -= 1.0;
        }
        if eq.iter().any(|v| *v != 0.0) {
            m.push(eq);
        }
    }
    let pivots = rref(&mut m);
    for (row, &col) in pivots.iter().enumerate() {
        if m[row].iter().enumerate().all(|(j, v)| j == col || v.abs() < 1e-9) {
            return Some(vars[col]);
        }
    }
    None
}

/// Reduced row echelon form in place; returns each pivot row's column.
pub fn rref(m: &mut [Vec<f64>]) -> Vec<usize> {
    let cols = m.first().map_or(0, |r| r.len());
    let mut pivots = Vec::new();
    let mut row = 0;
    for col in 0..cols {
        if row == m.len() {
            break;
        }
        let Some(p) = (row..m.len()).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs())) else { break };
        if m[p][col].abs() < 1e-9 {
            continue;
        }
        m.swap(row, p);
        let pv = m[row][col];
        for v in m[row].iter_mut() {
            *v /= pv;
        }
        for r in 0..m.len() {
            if r != row && m[r][col].abs() > 1e-12 {
                let f = m[r][col];
                let (src, dst) = if r < row {
                    let (a, b) = m.split_at_mut(row);
                    (&b[0], &mut a[r])
                } else {
                    let (a, b) = m.split_at_mut(r);
                    (&a[row], &mut b[0])
                };
                for (d, s) in dst.iter_mut().zip(src.iter()) {
                    *d -= f * s;
                }
            }
        }
        pivots.push(col);
        row += 1;
    }
    pivots
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

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

    #[test]
    fn small_cells_are_hidden_with_a_complement() {
        let g = grid(&[&[10, 3], &[20, 30]], Percent::OfRow).suppress();
        assert_eq!(g.cells[0][1], Cell::Suppressed);
        // Row 0 total 13 and column 1 total 33 are visible, so a second cell in each must go.
        let hidden = g.cells.iter().flatten().filter(|c| c.is_hidden()).count();
        assert!(hidden >= 4, "{:?}", g.cells);
        assert!(determined(&g.cells, &g.lines()).is_none());
        assert_eq!(g.percents[0][1], None);
    }

    #[test]
    fn a_hidden_missing_count_hides_the_percentages_of_its_line() {
        let mut rows = vec![cat("a"), cat("b"), Line::new("m", Label::text("m"), Role::Missing)];
        rows.push(Line::new("t", Label::text("t"), Role::Total));
        let cols = vec![cat("x"), cat("y"), Line::new("t", Label::text("t"), Role::Total)];
        let mut g = Grid::new(None, Label::text("r"), rows, cols, Percent::OfColumn);
        for (r, c, v) in [(0, 0, 50), (1, 0, 40), (2, 0, 2), (0, 1, 30), (1, 1, 20), (2, 1, 9)] {
            g.add(r, c, v);
        }
        let g = g.suppress();
        assert_eq!(g.cells[2][0], Cell::Suppressed);
        assert!((0..4).all(|r| g.percents[r][0].is_none()), "{:?}", g.percents);
    }

    /// Seed 001's relapse table: the two small CEART cells are hidden with their AUSL partners
    /// (a 2×2 block no total can undo) and nothing else.
    #[test]
    fn complementary_suppression_hides_as_little_as_it_can() {
        let rows = vec![
            cat("n"),
            cat("a"),
            cat("b"),
            cat("c"),
            Line::new("m", Label::text("m"), Role::Missing),
            Line::new("t", Label::text("t"), Role::Total),
        ];
        let cols = vec![cat("ausl"), cat("ceart"), Line::new("t", Label::text("t"), Role::Total)];
        let mut g = Grid::new(None, Label::text("x"), rows, cols, Percent::OfColumn);
        for (r, c, v) in [
            (0, 0, 72),
            (1, 0, 35),
            (2, 0, 12),
            (3, 0, 21),
            (4, 0, 6),
            (0, 1, 23),
            (1, 1, 6),
            (2, 1, 3),
            (3, 1, 1),
            (4, 1, 0),
        ] {
            g.add(r, c, v);
        }
        let g = g.finish().suppress();
        let hidden: Vec<(usize, usize)> =
            (0..6).flat_map(|r| (0..3).map(move |c| (r, c))).filter(|&(r, c)| g.cells[r][c].is_hidden()).collect();
        assert_eq!(hidden, vec![(2, 0), (2, 1), (3, 0), (3, 1)]);
        assert_eq!(g.percents[0][0], Some(51.4), "the visible cells keep their percentages");
    }

    #[test]
    fn no_counts_means_nothing_hidden() {
        let g = grid(&[&[0, 0], &[0, 0]], Percent::OfRow).suppress();
        assert!(g.cells.iter().flatten().all(|c| *c == Cell::Count(0)));
    }

    /// Rank of the equations over the hidden cells, computed independently of `determined`.
    fn rank(m: &[Vec<f64>]) -> usize {
        let mut m = m.to_vec();
        rref(&mut m).len()
    }

    /// Property: for random grids with groups and missing rows, every count of 1–4 is hidden
    /// and no hidden count can be derived — adding "this cell = its value" to the equations
    /// always raises their rank.
    #[test]
    fn property_no_hidden_cell_is_recoverable() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for case in 0..400 {
            let groups = rng.gen_range(0..3);
            let mut rows = Vec::new();
            for g in 0..groups {
                for i in 0..rng.gen_range(1..4) {
                    rows.push(cat(&format!("g{g}r{i}")).in_group(g));
                }
                rows.push(Line::new(format!("s{g}"), Label::text("s"), Role::Subtotal).in_group(g));
            }
            for i in 0..rng.gen_range(if groups == 0 { 1 } else { 0 }..4) {
                rows.push(cat(&format!("r{i}")));
            }
            if rng.gen_bool(0.5) {
                rows.push(Line::new("m", Label::text("m"), Role::Missing));
            }
            rows.push(Line::new("t", Label::text("t"), Role::Total));
            let ncat = rng.gen_range(1..5);
            let mut cols: Vec<Line> = (0..ncat).map(|i| cat(&format!("c{i}"))).collect();
            cols.push(Line::new("t", Label::text("t"), Role::Total));
            let mut g = Grid::new(None, Label::text("x"), rows, cols, Percent::OfColumn);
            for r in 0..g.rows.len() {
                if matches!(g.rows[r].role, Role::Category | Role::Missing) {
                    for c in 0..ncat {
                        let v = if rng.gen_bool(0.3) { rng.gen_range(0..5) } else { rng.gen_range(0..40) };
                        g.add(r, c, v);
                    }
                }
            }
            let exact = g.finish();
            let shown = exact.clone().suppress();
            let lines = shown.lines();
            let vars: Vec<(usize, usize)> = (0..shown.rows.len())
                .flat_map(|r| (0..shown.columns.len()).map(move |c| (r, c)))
                .filter(|&(r, c)| shown.cells[r][c].is_hidden())
                .collect();
            for (r, row) in exact.cells.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    if matches!(cell, Cell::Count(1..=4)) {
                        assert_eq!(shown.cells[r][c], Cell::Suppressed, "case {case}: small cell shown");
                    }
                }
            }
            let eqs: Vec<Vec<f64>> = lines
                .iter()
                .map(|(parts, total)| {
                    vars.iter()
                        .map(|v| {
                            if parts.contains(v) {
                                1.0
                            } else if v == total {
                                -1.0
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect();
            let base = rank(&eqs);
            for (i, v) in vars.iter().enumerate() {
                let mut with = eqs.clone();
                with.push((0..vars.len()).map(|j| if j == i { 1.0 } else { 0.0 }).collect());
                assert_eq!(rank(&with), base + 1, "case {case}: hidden cell {v:?} is recoverable");
            }
            // Visible percentages never sit on a hidden count.
            for r in 0..shown.rows.len() {
                for c in 0..shown.columns.len() {
                    if shown.cells[r][c].is_hidden() {
                        assert!(shown.percents[r][c].is_none());
                    }
                }
            }
        }
    }
}
