//! Server-side SVG charts for the report tables: no script, no library from a CDN. Each chart
//! has a title and a description for screen readers; the numbers stay in the table beside it.
//! A value the disclosure control withholds ("<5", "n.d.") is drawn as a hatched bar with its
//! text, never as nothing (which reads as zero), and the legend says what hatching means.

use crate::i18n::{I18n, Lang};
use crate::report_view::{RGrid, RRow};
use std::fmt::Write;

const PALETTE: usize = 6;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A chart where people would rather look than read: stacked bars for row percentages, grouped
/// bars for column percentages, activated vs planned for table 3. Plain SVG with a title and a
/// description; the numbers stay in the table next to it.
pub fn chart(i18n: &I18n, lang: Lang, g: &RGrid, table: u8) -> Option<String> {
    let title = g.title.clone().unwrap_or_else(|| g.row_header.clone());
    let desc = i18n.t(lang, "report-chart-desc", &[]);
    let hidden = i18n.t(lang, "report-chart-hidden", &[]);
    match (table, g.percent.as_str()) {
        (3, _) => paired_bars(i18n, lang, g, &title, &desc),
        (_, "row") => stacked_bars(g, &title, &desc, &hidden),
        (_, "column") => grouped_bars(g, &title, &desc, &hidden),
        _ => None,
    }
}

/// Whether the disclosure control withheld this cell's value.
fn withheld(c: &crate::report_view::RCell) -> bool {
    matches!(c.kind.as_str(), "suppressed" | "hidden")
}

/// The hatching of withheld values (one definition per chart; ids are per chart so several
/// charts on a page do not collide).
fn hatch_defs(id: &str) -> String {
    format!(
        "<defs><pattern id=\"{id}\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" patternTransform=\"rotate(45)\">\
         <rect width=\"6\" height=\"6\" class=\"hatch-bg\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" class=\"hatch-line\"/></pattern></defs>"
    )
}

/// A stable id for a chart's hatch pattern.
fn hatch_id(title: &str, rows: usize) -> String {
    let h = title.bytes().fold(rows as u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    format!("hatch-{h:x}")
}

/// The legend entry for withheld values, after the series.
fn hatch_legend(out: &mut String, hatch: &str, label: &str, top: u32) -> u32 {
    let _ = write!(
        out,
        "<rect x=\"10\" y=\"{top}\" width=\"12\" height=\"12\" fill=\"url(#{hatch})\" class=\"withheld\"/><text x=\"26\" y=\"{}\" class=\"chart-legend\">{}</text>",
        top + 10,
        esc(label)
    );
    top + 20
}

fn svg_open(width: u32, height: u32, title: &str, desc: &str) -> String {
    format!(
        "<svg class=\"report-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{}\"><title>{}</title><desc>{}</desc>",
        esc(title),
        esc(title),
        esc(desc)
    )
}

/// Legend entries, wrapping within `width`; returns the height used.
fn legend(out: &mut String, labels: &[&str], width: u32) -> u32 {
    let (mut x, mut y) = (10, 6);
    for (i, l) in labels.iter().enumerate() {
        let w = 24 + (l.chars().count() as u32) * 7;
        if x > 10 && x + w > width {
            x = 10;
            y += 18;
        }
        let _ = write!(out, "<rect x=\"{x}\" y=\"{y}\" width=\"12\" height=\"12\" class=\"s{}\"/>", i % PALETTE);
        let _ = write!(out, "<text x=\"{}\" y=\"{}\" class=\"chart-legend\">{}</text>", x + 16, y + 10, esc(l));
        x += w;
    }
    y + 24
}

/// A row label, shortened to fit the label column (the whole text stays as a tooltip).
fn axis_label(out: &mut String, x: u32, y: u32, label: &str) {
    let short: String =
        if label.chars().count() > 30 { label.chars().take(29).chain(['…']).collect() } else { label.to_string() };
    let _ = write!(
        out,
        "<text x=\"{x}\" y=\"{y}\" class=\"chart-axis\" text-anchor=\"end\"><title>{}</title>{}</text>",
        esc(label),
        esc(&short)
    );
}

/// Draws the body after the legend: the SVG is opened once its height is known.
fn finish_svg(
    width: u32,
    title: &str,
    desc: &str,
    legend_part: &str,
    top: u32,
    body_height: u32,
    body: &str,
) -> String {
    let mut out = svg_open(width, top + body_height, title, desc);
    out.push_str(legend_part);
    let _ = write!(out, "<g transform=\"translate(0 {top})\">{body}</g></svg>");
    out
}

fn stacked_bars(g: &RGrid, title: &str, desc: &str, hidden_label: &str) -> Option<String> {
    let cats: Vec<usize> = (0..g.columns.len()).filter(|&c| g.columns[c].role == "category").collect();
    let rows: Vec<&RRow> = g.rows.iter().filter(|r| r.role != "subtotal").collect();
    if cats.is_empty() || rows.is_empty() {
        return None;
    }
    let (label_w, bar_w, bar_h) = (220u32, 400u32, 22u32);
    let width = label_w + bar_w + 40;
    let hatch = hatch_id(title, rows.len());
    let mut head = hatch_defs(&hatch);
    let names: Vec<&str> = cats.iter().map(|&c| g.columns[c].label.as_str()).collect();
    let mut top = legend(&mut head, &names, width);
    let any_withheld = rows.iter().any(|r| cats.iter().any(|&c| withheld(&r.cells[c])));
    if any_withheld {
        top = hatch_legend(&mut head, &hatch, hidden_label, top - 6);
    }
    let mut body = String::new();
    for (i, r) in rows.iter().enumerate() {
        let y = i as u32 * (bar_h + 8);
        axis_label(&mut body, label_w - 6, y + 15, &r.label);
        let mut x = label_w as f64;
        let mut shown = 0.0;
        for (k, &c) in cats.iter().enumerate() {
            if let Some(p) = r.cells[c].percent {
                let w = p / 100.0 * bar_w as f64;
                shown += p;
                let _ = write!(body, "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_h}\" class=\"s{}\"><title>{}: {}%</title></rect>", k % PALETTE, esc(&g.columns[c].label), r.cells[c].percent_text);
                x += w;
            }
        }
        // What the withheld cells of the row share, as one hatched piece: the rest of the bar.
        let withheld_here: Vec<String> = cats
            .iter()
            .filter(|&&c| withheld(&r.cells[c]))
            .map(|&c| format!("{}: {}", g.columns[c].label, r.cells[c].text))
            .collect();
        if !withheld_here.is_empty() {
            let w = ((100.0 - shown).max(0.0) / 100.0 * bar_w as f64).max(6.0);
            let _ = write!(body, "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"url(#{hatch})\" class=\"withheld\"><title>{}</title></rect>", esc(&withheld_here.join("; ")));
        }
    }
    Some(finish_svg(width, title, desc, &head, top, rows.len() as u32 * (bar_h + 8), &body))
}

fn grouped_bars(g: &RGrid, title: &str, desc: &str, hidden_label: &str) -> Option<String> {
    let series: Vec<usize> =
        (0..g.columns.len()).filter(|&c| matches!(g.columns[c].role.as_str(), "category" | "total")).collect();
    let series: Vec<usize> = if series.len() > 1 {
        series.into_iter().filter(|&c| g.columns[c].role == "category").collect()
    } else {
        series
    };
    let rows: Vec<&RRow> = g.rows.iter().filter(|r| r.role == "category").collect();
    if series.is_empty() || rows.is_empty() || series.len() > 12 {
        return None;
    }
    let (label_w, bar_w, bar_h) = (220u32, 360u32, 12u32);
    let width = label_w + bar_w + 70;
    let hatch = hatch_id(title, rows.len());
    let mut head = hatch_defs(&hatch);
    let names: Vec<&str> = series.iter().map(|&c| g.columns[c].label.as_str()).collect();
    let mut top = if series.len() > 1 { legend(&mut head, &names, width) } else { 8 };
    if rows.iter().any(|r| series.iter().any(|&c| withheld(&r.cells[c]))) {
        top = hatch_legend(&mut head, &hatch, hidden_label, top.saturating_sub(6).max(4));
    }
    let group_h = series.len() as u32 * (bar_h + 2) + 10;
    let mut body = String::new();
    for (i, r) in rows.iter().enumerate() {
        let y0 = i as u32 * group_h;
        axis_label(&mut body, label_w - 6, y0 + 11, &r.label);
        for (k, &c) in series.iter().enumerate() {
            let y = y0 + k as u32 * (bar_h + 2);
            if withheld(&r.cells[c]) {
                // A short hatched bar with the cell's text: withheld, not zero.
                let _ = write!(body, "<rect x=\"{label_w}\" y=\"{y}\" width=\"24\" height=\"{bar_h}\" fill=\"url(#{hatch})\" class=\"withheld\"><title>{}: {}</title></rect>", esc(&g.columns[c].label), esc(&r.cells[c].text));
                let _ = write!(
                    body,
                    "<text x=\"{}\" y=\"{}\" class=\"chart-value\">{}</text>",
                    label_w + 28,
                    y + 10,
                    esc(&r.cells[c].text)
                );
            } else if let Some(p) = r.cells[c].percent {
                let w = (p / 100.0 * bar_w as f64).max(1.0);
                let _ = write!(body, "<rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_h}\" class=\"s{}\"><title>{}: {}%</title></rect>", k % PALETTE, esc(&g.columns[c].label), r.cells[c].percent_text);
                let _ = write!(
                    body,
                    "<text x=\"{:.1}\" y=\"{}\" class=\"chart-value\">{}%</text>",
                    label_w as f64 + w + 4.0,
                    y + 10,
                    r.cells[c].percent_text
                );
            }
        }
    }
    Some(finish_svg(width, title, desc, &head, top, rows.len() as u32 * group_h, &body))
}

fn paired_bars(i18n: &I18n, lang: Lang, g: &RGrid, title: &str, desc: &str) -> Option<String> {
    let activated = g.columns.iter().position(|c| c.role == "total")?;
    let planned = g.columns.iter().position(|c| c.role == "fixed")?;
    let rows: Vec<&RRow> = g.rows.iter().filter(|r| r.role == "category").collect();
    let max = rows
        .iter()
        .flat_map(|r| [r.cells[activated].value, r.cells[planned].value])
        .flatten()
        .max()
        .unwrap_or(0)
        .max(1);
    let (label_w, bar_w, bar_h) = (220u32, 360u32, 10u32);
    let width = label_w + bar_w + 60;
    let names = [i18n.t(lang, "report-activated", &[]), i18n.t(lang, "report-planned", &[])];
    let mut head = String::new();
    let top = legend(&mut head, &[names[0].as_str(), names[1].as_str()], width);
    let group_h = 2 * (bar_h + 2) + 8;
    let mut body = String::new();
    for (i, r) in rows.iter().enumerate() {
        let y0 = i as u32 * group_h;
        axis_label(&mut body, label_w - 6, y0 + 12, &r.label);
        for (k, c) in [activated, planned].into_iter().enumerate() {
            if let Some(v) = r.cells[c].value {
                let y = y0 + k as u32 * (bar_h + 2);
                let w = (v as f64 / max as f64 * bar_w as f64).max(1.0);
                let _ = write!(body, "<rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_h}\" class=\"s{k}\"><title>{}: {v}</title></rect>", esc(&names[k]));
                let _ = write!(
                    body,
                    "<text x=\"{:.1}\" y=\"{}\" class=\"chart-value\">{v}</text>",
                    label_w as f64 + w + 4.0,
                    y + 9
                );
            }
        }
    }
    Some(finish_svg(width, title, desc, &head, top, rows.len() as u32 * group_h, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report_view::{RCell, RLine};

    fn line(code: &str, role: &str) -> RLine {
        RLine { code: code.into(), label: code.into(), role: role.into() }
    }

    fn cell(kind: &str, value: Option<i64>, text: &str, percent: Option<f64>) -> RCell {
        RCell {
            kind: kind.into(),
            value,
            text: text.into(),
            percent,
            percent_text: percent.map(|p| format!("{p:.1}")).unwrap_or_default(),
        }
    }

    fn grid(percent: &str, cells: Vec<RCell>) -> RGrid {
        RGrid {
            title: Some("Istruzione".into()),
            row_header: "Titolo".into(),
            percent: percent.into(),
            columns: vec![line("ausl", "category"), line("enti", "category"), line("totale", "total")],
            rows: vec![RRow { code: "licenza".into(), label: "Licenza media".into(), role: "category".into(), cells }],
            chart: None,
        }
    }

    #[test]
    fn withheld_values_are_hatched_bars_with_their_text_never_nothing() {
        let i18n = I18n::new();
        let cells = vec![
            cell("count", Some(12), "12", Some(80.0)),
            cell("suppressed", None, "<5", None),
            cell("count", Some(15), "15", Some(100.0)),
        ];
        for percent in ["column", "row"] {
            let svg = chart(&i18n, Lang::It, &grid(percent, cells.clone()), 4).expect("a chart");
            assert!(svg.contains("fill=\"url(#hatch-"), "{percent}: a hatched bar: {svg}");
            assert!(svg.contains("valore protetto"), "{percent}: the legend says what hatching means");
            assert!(svg.contains("&lt;5"), "{percent}: the withheld text is on the chart");
        }
        // Nothing withheld: no hatching and no legend entry for it.
        let plain = vec![
            cell("count", Some(12), "12", Some(80.0)),
            cell("count", Some(3), "3", Some(20.0)),
            cell("count", Some(15), "15", Some(100.0)),
        ];
        let svg = chart(&i18n, Lang::It, &grid("row", plain), 4).expect("a chart");
        assert!(!svg.contains("url(#hatch-") && !svg.contains("valore protetto"), "{svg}");
    }
}
