//! Side by side: one table of the report for several periods (programmes, or years of one
//! programme), each period's totals in a column and the change from the first to the last.
//! The numbers are each period's own, protected as its report is (nothing is recomputed), so a
//! comparison discloses nothing its reports do not.

use super::grid::{Cell, Grid, Label, Line, Percent, Role};
use super::Table;

/// The column of a grid that a comparison shows: its total, or its only count column.
fn summary_column(g: &Grid) -> Option<usize> {
    g.columns.iter().position(|l| l.role == Role::Total).or_else(|| {
        let counts: Vec<usize> =
            (0..g.columns.len()).filter(|&c| matches!(g.columns[c].role, Role::Category | Role::Missing)).collect();
        (counts.len() == 1).then(|| counts[0])
    })
}

/// One table compared across `periods` (label, that period's table), in the order given.
/// Grids are matched by position and rows by code; a row a period lacks reads 0 there.
pub fn side_by_side(number: u8, code: &str, periods: &[(Label, &Table)]) -> Table {
    let Some((_, first)) = periods.first() else {
        return Table { number, code: code.to_string(), grids: Vec::new() };
    };
    let mut grids = Vec::new();
    for (gi, template) in first.grids.iter().enumerate() {
        // Rows: every period's rows by code, in order of first appearance (counts only).
        let mut rows: Vec<Line> = Vec::new();
        for (_, t) in periods {
            let Some(g) = t.grids.get(gi) else { continue };
            for r in &g.rows {
                if !matches!(r.role, Role::Fixed | Role::Difference) && !rows.iter().any(|x| x.code == r.code) {
                    rows.push(Line { group: None, ..r.clone() });
                }
            }
        }
        // Totals last, whatever the order they were met in.
        rows.sort_by_key(|l| l.role == Role::Total);
        let mut columns: Vec<Line> = periods
            .iter()
            .enumerate()
            .map(|(i, (label, _))| Line::new(format!("periodo-{}", i + 1), label.clone(), Role::Fixed))
            .collect();
        columns.push(Line::new("differenza", Label::msg("compare-difference"), Role::Fixed));
        // Shares within each period (of the column total) compare well; shares of a row do not.
        let percent = if template.percent == Percent::OfColumn { Percent::OfColumn } else { Percent::None };
        let mut g = Grid::new(template.title.clone(), template.row_header.clone(), rows, columns, percent);
        let np = periods.len();
        for r in 0..g.rows.len() {
            let code = g.rows[r].code.clone();
            for (p, (_, t)) in periods.iter().enumerate() {
                let source = t.grids.get(gi).and_then(|sg| {
                    let c = summary_column(sg)?;
                    let row = sg.rows.iter().position(|l| l.code == code)?;
                    Some((sg.cells[row][c], sg.percents[row][c]))
                });
                let (cell, percent) = source.unwrap_or((Cell::Count(0), None));
                g.cells[r][p] = cell;
                g.percents[r][p] = percent.filter(|_| g.percent == Percent::OfColumn);
            }
            g.cells[r][np] = match (g.cells[r][0], g.cells[r][np - 1]) {
                (Cell::Count(a), Cell::Count(b)) if np > 1 => Cell::Signed(b as i64 - a as i64),
                (Cell::Money(a), Cell::Money(b)) if np > 1 => Cell::Money(b - a),
                _ => Cell::Empty,
            };
        }
        grids.push(g);
    }
    Table { number, code: code.to_string(), grids }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(counts: &[(&str, u64)]) -> Table {
        let mut rows: Vec<Line> = counts.iter().map(|(c, _)| Line::new(*c, Label::text(*c), Role::Category)).collect();
        rows.push(Line::new("totale", Label::text("t"), Role::Total));
        let cols = vec![Line::new("n", Label::text("n"), Role::Category)];
        let mut g = Grid::new(None, Label::text("x"), rows, cols, Percent::OfColumn);
        for (r, (_, n)) in counts.iter().enumerate() {
            g.add(r, 0, *n);
        }
        Table { number: 5, code: "t05".into(), grids: vec![g.finish()] }
    }

    #[test]
    fn periods_side_by_side_with_the_change() {
        let a = table(&[("nessuna", 40), ("1_3", 10)]);
        let b = table(&[("nessuna", 30), ("4_10", 8)]);
        let t = side_by_side(5, "t05", &[(Label::text("2011"), &a), (Label::text("2012"), &b)]);
        let g = &t.grids[0];
        let codes: Vec<&str> = g.rows.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, vec!["nessuna", "1_3", "4_10", "totale"]);
        assert_eq!(g.cells[0][..3], [Cell::Count(40), Cell::Count(30), Cell::Signed(-10)]);
        assert_eq!(g.cells[1][..3], [Cell::Count(10), Cell::Count(0), Cell::Signed(-10)], "absent reads 0");
        assert_eq!(g.cells[3][..3], [Cell::Count(50), Cell::Count(38), Cell::Signed(-12)]);
        assert_eq!(g.percents[0][0], Some(80.0), "each period keeps its own percentages");
    }

    #[test]
    fn a_protected_cell_has_no_difference() {
        let a = table(&[("x", 10)]);
        let mut b = table(&[("x", 3)]);
        b.grids[0].cells[0][0] = Cell::Suppressed;
        let t = side_by_side(5, "t05", &[(Label::text("a"), &a), (Label::text("b"), &b)]);
        assert_eq!(t.grids[0].cells[0][2], Cell::Empty);
    }
}
