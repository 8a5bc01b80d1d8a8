//! The person's copy of their data (GDPR art. 15 and 20) as a printable page: every part of
//! the export, labelled in the reader's language, laid out for paper (print to PDF from the
//! browser). The same export is served as JSON by the API.

use super::{base, fail};
use crate::i18n::Lang;
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde_json::Value;

/// The parts of the copy, in the order a person reads them.
const SECTIONS: [&str; 8] =
    ["pathway", "interventions", "projects", "assessments", "referrals", "placements", "documents", "accesses"];

/// What a page shows the professional and the person needs not see (what the viewer may do).
/// Internal numbers (row ids, links between rows) mean nothing on paper: the JSON keeps them.
fn left_off_paper(key: &str) -> bool {
    key.starts_with("can_")
        || key == "id"
        || key.ends_with("_id")
        || matches!(key, "transitions" | "manageable_episode" | "identity_hidden" | "person_code" | "content_base64")
}

pub async fn export(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Response {
    let export = match state.svc.person_export(&auth.actor, id).await {
        Ok(e) => e,
        Err(e) => return fail(&state, auth.lang, e),
    };
    let value = match serde_json::to_value(&export) {
        Ok(v) => v,
        Err(e) => return fail(&state, auth.lang, percorsi_service::ServiceError::Broken(e.to_string())),
    };
    let mut sections = Vec::new();
    for key in SECTIONS {
        let Some(part) = value.get(key) else { continue };
        let mut body = String::new();
        write_value(&state, auth.lang, key, part, &mut body);
        sections.push(context! { title => state.ui.t(auth.lang, &format!("export-{key}")), body => body });
    }
    let ctx = context! {
        person_id => id,
        code => export.pathway.person.code,
        produced_at => export.produced_at,
        produced_by => export.produced_by_organisation,
        sections => sections,
        ..base(&state, auth.lang, Some(&auth.session), "export-title", None),
    };
    state.ui.render(StatusCode::OK, "persons/export.html", ctx)
}

fn label(state: &AppState, lang: Lang, key: &str) -> String {
    for id in [format!("export-field-{key}"), format!("field-{key}")] {
        if state.ui.i18n.has(lang, &id) {
            return state.ui.t(lang, &id);
        }
    }
    let mut words = key.replace('_', " ");
    if let Some(first) = words.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    words
}

/// A stored value as a reader expects it: codes by their name, dates and times the Italian way.
fn shown(state: &AppState, lang: Lang, key: &str, value: &str) -> String {
    // Where the stored field's name differs from its code list's.
    let list = match key {
        "purpose" => "consent_purpose",
        "status" => "intervention_status",
        other => other,
    };
    let code = format!("code-{list}-{value}");
    if state.ui.i18n.has(lang, &code) {
        return state.ui.t(lang, &code);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return t.with_timezone(&chrono::Local).format("%d/%m/%Y %H:%M").to_string();
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return d.format("%d/%m/%Y").to_string();
    }
    value.to_string()
}

/// A list whose items are flat records reads best as a table.
fn flat_records(items: &[Value]) -> Option<Vec<&String>> {
    let first = items.first()?.as_object()?;
    let keys: Vec<&String> = first.keys().filter(|k| !left_off_paper(k)).collect();
    let flat = items.iter().all(|i| {
        i.as_object().is_some_and(|o| o.len() == first.len() && o.values().all(|v| !v.is_object() && !v.is_array()))
    });
    flat.then_some(keys)
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Objects as definition lists, lists of flat records as tables, other lists as numbered
/// items, values as text (escaped).
fn write_value(state: &AppState, lang: Lang, key: &str, value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push('—'),
        Value::Bool(b) => out.push_str(&state.ui.t(lang, if *b { "export-yes" } else { "export-no" })),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) if s.is_empty() => out.push('—'),
        Value::String(s) => escape(&shown(state, lang, key, s), out),
        Value::Array(items) if items.is_empty() => out.push_str(&state.ui.t(lang, "export-none")),
        Value::Array(items) => match flat_records(items) {
            Some(keys) => {
                out.push_str("<div class=\"table-wrap\" tabindex=\"0\"><table class=\"export-table\"><thead><tr>");
                for k in &keys {
                    out.push_str("<th scope=\"col\">");
                    escape(&label(state, lang, k), out);
                    out.push_str("</th>");
                }
                out.push_str("</tr></thead><tbody>");
                for item in items {
                    out.push_str("<tr>");
                    for k in &keys {
                        out.push_str("<td>");
                        write_value(state, lang, k, &item[k.as_str()], out);
                        out.push_str("</td>");
                    }
                    out.push_str("</tr>");
                }
                out.push_str("</tbody></table></div>");
            }
            None => {
                out.push_str("<ol class=\"export-list\">");
                for item in items {
                    out.push_str("<li>");
                    write_value(state, lang, key, item, out);
                    out.push_str("</li>");
                }
                out.push_str("</ol>");
            }
        },
        Value::Object(fields) => {
            out.push_str("<dl class=\"export-fields\">");
            for (k, v) in fields.iter().filter(|(k, _)| !left_off_paper(k)) {
                out.push_str("<dt>");
                escape(&label(state, lang, k), out);
                out.push_str("</dt><dd>");
                write_value(state, lang, k, v, out);
                out.push_str("</dd>");
            }
            out.push_str("</dl>");
        }
    }
}
