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

/// What a page shows the professional and the person needs not see (what the viewer may do).
fn is_ui_flag(key: &str) -> bool {
    key.starts_with("can_") || matches!(key, "transitions" | "manageable_episode" | "identity_hidden")
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
    if let Value::Object(parts) = &value {
        for (key, part) in parts {
            if key.starts_with("produced_") {
                continue;
            }
            let mut body = String::new();
            write_value(&state, auth.lang, part, &mut body);
            sections.push(context! { title => state.ui.t(auth.lang, &format!("export-{key}")), body => body });
        }
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
    let id = format!("field-{key}");
    if state.ui.i18n.has(lang, &id) {
        state.ui.t(lang, &id)
    } else {
        let mut words = key.replace('_', " ");
        if let Some(first) = words.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        words
    }
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

/// Objects as definition lists, lists as numbered items, values as text (escaped).
fn write_value(state: &AppState, lang: Lang, value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push('—'),
        Value::Bool(b) => out.push_str(&state.ui.t(lang, if *b { "export-yes" } else { "export-no" })),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) if s.is_empty() => out.push('—'),
        Value::String(s) => escape(s, out),
        Value::Array(items) if items.is_empty() => out.push_str(&state.ui.t(lang, "export-none")),
        Value::Array(items) => {
            out.push_str("<ol class=\"export-list\">");
            for item in items {
                out.push_str("<li>");
                write_value(state, lang, item, out);
                out.push_str("</li>");
            }
            out.push_str("</ol>");
        }
        Value::Object(fields) => {
            out.push_str("<dl class=\"export-fields\">");
            for (key, v) in fields.iter().filter(|(k, _)| !is_ui_flag(k)) {
                out.push_str("<dt>");
                escape(&label(state, lang, key), out);
                out.push_str("</dt><dd>");
                write_value(state, lang, v, out);
                out.push_str("</dd>");
            }
            out.push_str("</dl>");
        }
    }
}
