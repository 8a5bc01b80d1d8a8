//! The disclosure control against its attacker (ADR 0014): someone who holds every table of a
//! report and of the reports that differ from it by one filter (each intervention type), knows
//! that "<5" is 1–4 and that other counts are off by at most 2, and combines all of it — every
//! row, column and group equation, and "all types = the sum over the types" across reports —
//! by interval constraint propagation, the reasoning that recovered hidden cells before. The
//! criterion: no count of 1–4 is pinned to one value, whatever it reads ("<5", or a perturbed
//! 5 or 6). (A "<5" that is really an empty cell may be found to be 0: empty cells are shown as
//! "0" half of the time anyway.) The bounds are checked against the exact
//! tables, so the attacker model is sound (it never excludes the truth) and not vacuous.

use crate::support::TestApp;
use percorsi_domain::programme::InterventionType;
use percorsi_domain::report::grid::{bounds, narrow_bounds, Cell, Equation, Role};
use percorsi_domain::report::Report;
use percorsi_service::import::Importer;
use percorsi_service::reports::{ReportQuery, Viewer};
use std::collections::HashMap;

/// A cell of one of the reports: (report, table, grid, row code, column code).
type Key = (usize, u8, usize, String, String);

struct Attack {
    index: HashMap<Key, usize>,
    bounds: Vec<(i64, i64)>,
    cells: Vec<Cell>,
    /// Over one flat row of cells: `(0, i)` is the `i`-th cell.
    equations: Vec<Equation>,
}

fn flat(parts: Vec<usize>, total: usize) -> Equation {
    (parts.into_iter().map(|p| (0, p)).collect(), (0, total))
}

fn is_count(role: Role) -> bool {
    matches!(role, Role::Category | Role::Missing | Role::Subtotal | Role::Total)
}

impl Attack {
    fn new(reports: &[Report]) -> Attack {
        let mut a = Attack { index: HashMap::new(), bounds: Vec::new(), cells: Vec::new(), equations: Vec::new() };
        for (ri, report) in reports.iter().enumerate() {
            for t in &report.tables {
                for (gi, g) in t.grids.iter().enumerate() {
                    let mut local = HashMap::new();
                    for (r, row) in g.rows.iter().enumerate() {
                        for (c, col) in g.columns.iter().enumerate() {
                            if !is_count(row.role) || !is_count(col.role) {
                                continue;
                            }
                            let i = a.bounds.len();
                            a.bounds.push(bounds(g.cells[r][c]));
                            a.cells.push(g.cells[r][c]);
                            a.index.insert((ri, t.number, gi, row.code.clone(), col.code.clone()), i);
                            local.insert((r, c), i);
                        }
                    }
                    for (parts, total) in g.lines() {
                        let Some(&ti) = local.get(&total) else { continue };
                        let parts: Option<Vec<usize>> = parts.iter().map(|p| local.get(p).copied()).collect();
                        if let Some(parts) = parts {
                            a.equations.push(flat(parts, ti));
                        }
                    }
                }
            }
        }
        a
    }

    /// Report 0 counts every type; reports 1.. one type each: a cell of report 0 is the sum of
    /// the same cell in the others (absent there means none of that type: exactly 0). Not for
    /// table 2, which counts people: someone with two types of intervention is one person in
    /// all, one in each type.
    fn across_types(&mut self, types: usize) {
        let zero = self.bounds.len();
        self.bounds.push((0, 0));
        self.cells.push(Cell::Count(0));
        let all: Vec<(Key, usize)> =
            self.index.iter().filter(|(k, _)| k.0 == 0 && k.1 != 2).map(|(k, i)| (k.clone(), *i)).collect();
        for (key, total) in all {
            let parts = (1..=types)
                .map(|ri| self.index.get(&(ri, key.1, key.2, key.3.clone(), key.4.clone())).copied().unwrap_or(zero))
                .collect();
            self.equations.push(flat(parts, total));
        }
    }

    /// The protection's own guard reasoning (`narrow_bounds`), over every equation at once.
    fn run(&mut self) {
        let mut b = vec![std::mem::take(&mut self.bounds)];
        narrow_bounds(&mut b, &self.equations);
        self.bounds = b.pop().unwrap_or_default();
    }
}

async fn reports(app: &TestApp, programme: i64, protected: bool) -> Vec<Report> {
    let analyst = app.actor("analista").await;
    let mut out = Vec::new();
    for t in std::iter::once("").chain(InterventionType::ALL.iter().map(|t| t.code())) {
        let q = ReportQuery {
            programme_id: programme.to_string(),
            intervention_type: t.to_string(),
            by: "organisation".into(),
            ..Default::default()
        };
        let view = if protected {
            app.svc.report(&analyst, &q).await
        } else {
            app.svc.export_report(Viewer::System { suppress: false }, &q, "json").await
        };
        out.push(view.expect("report").report);
    }
    out
}

/// Runs the attack on one programme; returns (counts of 1–4, their mean width after the attack).
async fn attack(app: &TestApp, programme: i64) -> (usize, f64) {
    let shown = reports(app, programme, true).await;
    let exact = reports(app, programme, false).await;
    let mut a = Attack::new(&shown);
    a.across_types(InterventionType::ALL.len());
    a.run();
    let truth = Attack::new(&exact);
    let (mut small, mut width, mut pinned) = (0usize, 0i64, Vec::new());
    for (key, &i) in &a.index {
        let Some(&j) = truth.index.get(key) else { continue };
        let Cell::Count(n) = truth.cells[j] else { continue };
        let (lo, hi) = a.bounds[i];
        assert!(lo <= n as i64 && n as i64 <= hi, "{key:?}: the attack excluded the truth {n} ({lo}..{hi})");
        // The protected values: counts of 1–4, whether they read "<5" or a perturbed 5 or 6.
        if (1..5).contains(&n) {
            small += 1;
            width += hi - lo;
            if lo == hi {
                pinned.push(format!("{key:?} = {n} shown {:?}", a.cells[i]));
            }
        }
    }
    assert!(pinned.is_empty(), "{} small cells pinned down:\n{}", pinned.len(), pinned.join("\n"));
    (small, if small == 0 { 0.0 } else { width as f64 / small as f64 })
}

#[tokio::test]
async fn no_small_count_of_the_seed_programme_can_be_worked_out_across_tables_and_filters() {
    let app = TestApp::new().await;
    let analyst = app.actor("analista").await;
    let programme = app
        .svc
        .programmes(&analyst)
        .await
        .expect("programmes")
        .into_iter()
        .find(|p| p.name.contains("dati storici"))
        .expect("the demo's seed-001 programme")
        .id;
    let (small, width) = attack(&app, programme).await;
    eprintln!(
        "seed 001: {small} counts of 1–4 over 4 reports; after the attack each still spans {width:.1} values on average"
    );
    assert!(small > 20, "the seed's tables have small cells to protect ({small})");
}

#[tokio::test]
async fn no_small_count_of_a_generated_programme_can_be_worked_out_across_tables_and_filters() {
    let app = TestApp::new().await;
    let (programme, orgs) = app.svc.prepare_history(12).await.expect("history programme");
    let csv = percorsi_service::synthetic::history_csv(&orgs, 3000, 11);
    let importer = Importer::Cli { username: percorsi_service::synthetic::BENCH_ANALYST, shared: true };
    let out = app.svc.import_history(importer, programme, "generated.csv", csv.as_bytes()).await.expect("import");
    assert!(out.written, "{:?}", out.error_count);
    let (small, width) = attack(&app, programme).await;
    eprintln!("generated: {small} counts of 1–4 over 4 reports; after the attack each still spans {width:.1} values on average");
    assert!(small > 20, "the generated tables have small cells to protect ({small})");
}
