//! A computed report put into words: labels in the reader's language, numbers as they are
//! shown, and the same structure written out as JSON, CSV, XLSX and SVG charts. Every output
//! format starts from `Resolved`, so a suppressed cell is "<5" everywhere.

use crate::i18n::{I18n, Lang};
use percorsi_domain::report::{Cell, Grid, Label, Percent, Report, Role};
use percorsi_service::reports::ReportView;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Resolved {
    pub programme_id: i64,
    pub programme: String,
    pub generated_at: String,
    /// The filters applied, as label/value pairs.
    pub filters: Vec<(String, String)>,
    /// Whether the numbers are protected (viewers without identifiable access).
    pub suppressed: bool,
    /// Interventions counted (`null` when protected and fewer than 5).
    pub interventions: Option<u64>,
    /// The people they concern, as table 2 counts them.
    pub persons: Option<u64>,
    pub tables: Vec<RTable>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RTable {
    pub number: u8,
    pub code: String,
    pub title: String,
    pub grids: Vec<RGrid>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RGrid {
    pub title: Option<String>,
    pub row_header: String,
    /// `row`, `column` or `none`: which way the percentages add up to 100.
    pub percent: String,
    pub columns: Vec<RLine>,
    pub rows: Vec<RRow>,
    #[serde(skip)]
    pub chart: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RLine {
    pub code: String,
    pub label: String,
    /// `category`, `missing`, `subtotal`, `total`, `fixed` or `difference`.
    pub role: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RRow {
    pub code: String,
    pub label: String,
    pub role: String,
    pub cells: Vec<RCell>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RCell {
    /// `count`, `suppressed` (1–4, shown `<5`), `hidden` (withheld, shown `n.d.`), `fixed`,
    /// `signed`, `money` (cents), `months` (tenths of a month) or `empty`.
    pub kind: String,
    pub value: Option<i64>,
    /// As displayed: `12`, `<5`, `+3`, `€ 1.200,00`.
    pub text: String,
    pub percent: Option<f64>,
    pub percent_text: String,
}

fn role_code(r: Role) -> String {
    serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub fn label(i18n: &I18n, lang: Lang, l: &Label) -> String {
    match l {
        Label::Msg(id) => i18n.t(lang, id, &[]),
        Label::Text(s) => s.clone(),
    }
}

pub fn percent_text(lang: Lang, p: f64) -> String {
    let s = format!("{p:.1}");
    if lang == Lang::It {
        s.replace('.', ",")
    } else {
        s
    }
}

fn cell(lang: Lang, c: Cell, p: Option<f64>) -> RCell {
    let (kind, value, text) = match c {
        Cell::Count(v) => ("count", Some(v as i64), v.to_string()),
        Cell::Suppressed => ("suppressed", None, "<5".to_string()),
        Cell::Hidden => ("hidden", None, "n.d.".to_string()),
        Cell::Fixed(v) => ("fixed", Some(v), v.to_string()),
        Cell::Signed(v) => ("signed", Some(v), if v > 0 { format!("+{v}") } else { v.to_string() }),
        Cell::Money(v) => ("money", Some(v), percorsi_domain::money::format_euros(v)),
        Cell::Months(v) => ("months", Some(v), percent_text(lang, v as f64 / 10.0)),
        Cell::Empty => ("empty", None, String::new()),
    };
    RCell {
        kind: kind.into(),
        value,
        text,
        percent: p,
        percent_text: p.map(|p| percent_text(lang, p)).unwrap_or_default(),
    }
}

fn grid(i18n: &I18n, lang: Lang, g: &Grid, table: u8) -> RGrid {
    let columns: Vec<RLine> = g
        .columns
        .iter()
        .map(|l| RLine { code: l.code.clone(), label: label(i18n, lang, &l.label), role: role_code(l.role) })
        .collect();
    let rows = g
        .rows
        .iter()
        .enumerate()
        .map(|(r, l)| {
            let name = label(i18n, lang, &l.label);
            RRow {
                code: l.code.clone(),
                label: if l.role == Role::Subtotal {
                    i18n.t(lang, "report-subtotal", &[("label", name)])
                } else {
                    name
                },
                role: role_code(l.role),
                cells: (0..g.columns.len()).map(|c| cell(lang, g.cells[r][c], g.percents[r][c])).collect(),
            }
        })
        .collect();
    let mut out = RGrid {
        title: g.title.as_ref().map(|t| label(i18n, lang, t)),
        row_header: label(i18n, lang, &g.row_header),
        percent: match g.percent {
            Percent::None => "none",
            Percent::OfRow => "row",
            Percent::OfColumn => "column",
        }
        .into(),
        columns,
        rows,
        chart: None,
    };
    out.chart = crate::report_chart::chart(i18n, lang, &out, table);
    out
}

/// One grid put into words (for pages other than the report, e.g. the network dashboard).
pub fn resolve_grid(i18n: &I18n, lang: Lang, g: &Grid) -> RGrid {
    grid(i18n, lang, g, 0)
}

pub fn resolve(i18n: &I18n, lang: Lang, view: &ReportView) -> Resolved {
    let r: &Report = &view.report;
    let q = &view.query;
    let mut filters = Vec::new();
    let mut push = |key: &str, v: String| {
        if !v.trim().is_empty() {
            filters.push((i18n.t(lang, key, &[]), v));
        }
    };
    push("report-filter-from", q.from.clone());
    push("report-filter-to", q.to.clone());
    let names: Vec<String> = q
        .organisations
        .split(',')
        .filter_map(|id| id.trim().parse::<i64>().ok())
        .filter_map(|id| view.units.iter().find(|u| u.id == id).map(|u| u.name.clone()))
        .collect();
    push("report-filter-organisations", names.join(", "));
    if !q.organisation_kind.trim().is_empty() {
        push(
            "report-filter-kind",
            i18n.t(lang, &format!("code-organisation_kind-{}", q.organisation_kind.trim()), &[]),
        );
    }
    if !q.intervention_type.trim().is_empty() {
        push(
            "report-filter-type",
            i18n.t(lang, &format!("code-intervention_type-{}", q.intervention_type.trim()), &[]),
        );
    }
    Resolved {
        programme_id: view.programme.id,
        programme: view.programme.name.clone(),
        generated_at: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        filters,
        suppressed: r.suppressed,
        interventions: r.interventions,
        persons: r.persons,
        tables: r
            .tables
            .iter()
            .map(|t| RTable {
                number: t.number,
                code: t.code.clone(),
                title: i18n.t(lang, &format!("report-{}-title", t.code), &[]),
                grids: t.grids.iter().map(|g| grid(i18n, lang, g, t.number)).collect(),
            })
            .collect(),
    }
}

/// The file for a resolved report in a format: the whole report, or one table when `table`
/// is its number. `None` for an unknown format or table.
pub fn file(i18n: &I18n, lang: Lang, r: &Resolved, table: &str, format: &str) -> Option<Vec<u8>> {
    let tables: Vec<&RTable> = match table.trim() {
        "" => r.tables.iter().collect(),
        n => {
            let n: u8 = n.parse().ok()?;
            vec![r.tables.iter().find(|t| t.number == n)?]
        }
    };
    match format {
        "csv" => Some(to_csv(r, &tables)),
        "xlsx" => to_xlsx(i18n, lang, r, &tables).ok(),
        "json" => {
            let mut r = r.clone();
            r.tables = tables.into_iter().cloned().collect();
            serde_json::to_vec_pretty(&r).ok()
        }
        _ => None,
    }
}

/// A text cell that a spreadsheet would run as a formula (`=…`, `+…`, `-…`, `@…`) is written
/// with a leading apostrophe, so names typed by users never execute in Excel (CSV injection).
pub fn csv_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Long format, one line per cell: easy to load anywhere, with the displayed text kept.
pub fn to_csv(report: &Resolved, tables: &[&RTable]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "programma",
        "tabella",
        "titolo",
        "sezione",
        "riga_codice",
        "riga",
        "colonna_codice",
        "colonna",
        "valore",
        "testo",
        "percentuale",
    ]);
    for t in tables {
        for g in &t.grids {
            for r in &g.rows {
                for (c, cell) in r.cells.iter().enumerate() {
                    if cell.kind == "empty" {
                        continue;
                    }
                    let col = &g.columns[c];
                    let _ = w.write_record([
                        &csv_text(&report.programme),
                        t.number.to_string().as_str(),
                        &t.title,
                        g.title.as_deref().unwrap_or(""),
                        &r.code,
                        &csv_text(&r.label),
                        &col.code,
                        &csv_text(&col.label),
                        &cell.value.map(|v| v.to_string()).unwrap_or_default(),
                        &cell.text,
                        &cell.percent.map(|p| format!("{p:.1}")).unwrap_or_default(),
                    ]);
                }
            }
        }
    }
    w.into_inner().unwrap_or_default()
}

/// A workbook with a sheet per table, laid out like the page: counts and percentages side by side.
pub fn to_xlsx(
    i18n: &I18n,
    lang: Lang,
    report: &Resolved,
    tables: &[&RTable],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, FormatAlign, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let head = Format::new().set_bold().set_text_wrap().set_align(FormatAlign::Center);
    let pct = Format::new().set_num_format("0.0");
    let euro = Format::new().set_num_format("#,##0.00 €");
    let total = Format::new().set_bold();
    for t in tables {
        let ws = wb.add_worksheet();
        ws.set_name(format!("{} {}", i18n.t(lang, "report-table", &[]), t.number))?;
        ws.write_string_with_format(0, 0, format!("{}. {}", t.number, t.title), &bold)?;
        ws.write_string(1, 0, format!("{} — {}", report.programme, report.generated_at))?;
        let mut row: u32 = 2;
        if report.suppressed {
            ws.write_string(row, 0, i18n.t(lang, "report-suppressed-note", &[]))?;
            row += 1;
        }
        ws.set_column_width(0, 38)?;
        for g in &t.grids {
            row += 1;
            if let Some(title) = &g.title {
                ws.write_string_with_format(row, 0, title, &bold)?;
                row += 1;
            }
            let with_pct = g.percent != "none" || t.number == 14;
            ws.write_string_with_format(row, 0, &g.row_header, &head)?;
            let mut col: u16 = 1;
            for c in &g.columns {
                ws.write_string_with_format(row, col, &c.label, &head)?;
                if with_pct {
                    ws.write_string_with_format(row, col + 1, "%", &head)?;
                    col += 2;
                } else {
                    col += 1;
                }
            }
            row += 1;
            for r in &g.rows {
                let strong = matches!(r.role.as_str(), "total" | "subtotal");
                if strong {
                    ws.write_string_with_format(row, 0, &r.label, &total)?;
                } else {
                    ws.write_string(row, 0, &r.label)?;
                }
                let mut col: u16 = 1;
                for cell in &r.cells {
                    match (cell.kind.as_str(), cell.value) {
                        ("money", Some(v)) => {
                            ws.write_number_with_format(row, col, v as f64 / 100.0, &euro)?;
                        }
                        ("months", Some(v)) => {
                            ws.write_number(row, col, v as f64 / 10.0)?;
                        }
                        (_, Some(v)) => {
                            ws.write_number(row, col, v as f64)?;
                        }
                        (_, None) if !cell.text.is_empty() => {
                            ws.write_string(row, col, &cell.text)?;
                        }
                        _ => {}
                    }
                    if with_pct {
                        if let Some(p) = cell.percent {
                            ws.write_number_with_format(row, col + 1, p, &pct)?;
                        }
                        col += 2;
                    } else {
                        col += 1;
                    }
                }
                row += 1;
            }
        }
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use percorsi_domain::codes::OrganisationKind;
    use percorsi_domain::report::{build, Budget, GroupBy, Input, Label, Unit};

    /// Every label a report can carry (table titles, rows, columns, figures) exists in both
    /// languages: a missing one would show its id to the reader.
    #[test]
    fn every_report_label_is_translated() {
        let i18n = I18n::new();
        let units = vec![
            Unit { id: 1, name: "1-MS".into(), kind: OrganisationKind::AuslSerd },
            Unit { id: 2, name: "CEART".into(), kind: OrganisationKind::EnteAusiliario },
        ];
        for by in [GroupBy::Kind, GroupBy::Organisation] {
            let input =
                Input { facts: Vec::new(), units: units.clone(), planned: Vec::new(), budget: Budget::default(), by };
            let report = build(&input, Some(percorsi_domain::report::grid::Protection { secret: 1 }), None);
            let mut ids = vec!["report-subtotal".to_string(), "report-chart-desc".to_string()];
            for t in &report.tables {
                ids.push(format!("report-{}-title", t.code));
                for g in &t.grids {
                    let labels =
                        g.rows.iter().chain(&g.columns).map(|l| &l.label).chain(g.title.iter()).chain([&g.row_header]);
                    ids.extend(labels.filter_map(|l| match l {
                        Label::Msg(id) => Some(id.clone()),
                        Label::Text(_) => None,
                    }));
                }
            }
            for lang in [Lang::It, Lang::En] {
                let missing: Vec<&String> = ids.iter().filter(|id| !i18n.has(lang, id)).collect();
                assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
            }
        }
    }

    #[test]
    fn names_never_become_formulas_in_csv() {
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_text("1-MS"), "1-MS");
    }

    #[test]
    fn percentages_use_the_reader_decimal_separator() {
        assert_eq!(percent_text(Lang::It, 51.4), "51,4");
        assert_eq!(percent_text(Lang::En, 51.4), "51.4");
        assert_eq!(percent_text(Lang::It, 100.0), "100,0");
    }
}
