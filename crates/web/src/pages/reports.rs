//! Outcome report pages: the fourteen tables with charts, their downloads, the printable
//! report, the analysts' pseudonymised extract and the historical import.

use super::{base, code_options, fail};
use crate::i18n::Lang;
use crate::report_view::{file, resolve};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Multipart, Path, Query, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use percorsi_domain::codes::OrganisationKind;
use percorsi_domain::programme::InterventionType;
use percorsi_service::import::{ImportOutcome, Importer};
use percorsi_service::reports::{CompareQuery, ReportQuery, Viewer};
use percorsi_service::ServiceError;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExportQuery {
    #[serde(flatten)]
    pub report: ReportQuery,
    pub format: String,
}

/// A download: content type and file name by format.
pub fn download(format: &str, name: &str, body: Vec<u8>) -> Response {
    let ctype = match format {
        "csv" => "text/csv; charset=utf-8",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/json",
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.{format}\"")),
        ],
        body,
    )
        .into_response()
}

fn filter_choices(state: &AppState, lang: Lang) -> minijinja::Value {
    context! {
        kinds => code_options(state, lang, "organisation_kind", OrganisationKind::ALL),
        types => code_options(state, lang, "intervention_type", InterventionType::ALL),
    }
}

/// The report's filters from a page's query string: the organisations list may come as one
/// comma-separated value or as the repeated values of a multiple select.
pub fn query_of(raw: Option<&str>) -> Result<ReportQuery, ()> {
    query_with_list(raw, "organisations")
}

/// Filters from a page's query string where `list` may come as one comma-separated value or
/// as the repeated values of a multiple select or checkboxes.
fn query_with_list<T: serde::de::DeserializeOwned>(raw: Option<&str>, list: &str) -> Result<T, ()> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|_| ())?;
    let values: Vec<&str> =
        pairs.iter().filter(|(k, v)| k == list && !v.trim().is_empty()).map(|(_, v)| v.as_str()).collect();
    let mut rest: Vec<(&str, &str)> =
        pairs.iter().filter(|(k, _)| k != list).map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let joined = values.join(",");
    rest.push((list, &joined));
    let encoded = serde_urlencoded::to_string(&rest).map_err(|_| ())?;
    serde_urlencoded::from_str(&encoded).map_err(|_| ())
}

pub async fn page(State(state): State<AppState>, auth: Auth, RawQuery(raw): RawQuery) -> Response {
    match query_of(raw.as_deref()) {
        Ok(q) => render(&state, &auth, q, "reports/page.html").await,
        Err(()) => super::error_page(&state, auth.lang, StatusCode::BAD_REQUEST, "err-invalid-input"),
    }
}

pub async fn print(State(state): State<AppState>, auth: Auth, RawQuery(raw): RawQuery) -> Response {
    match query_of(raw.as_deref()) {
        Ok(q) => render(&state, &auth, q, "reports/print.html").await,
        Err(()) => super::error_page(&state, auth.lang, StatusCode::BAD_REQUEST, "err-invalid-input"),
    }
}

async fn render(state: &AppState, auth: &Auth, q: ReportQuery, template: &str) -> Response {
    let lang = auth.lang;
    let programmes = match state.svc.report_programmes(&auth.actor).await {
        Ok(p) => p,
        Err(e) => return fail(state, lang, e),
    };
    let mut q = q;
    if q.programme_id.trim().is_empty() {
        if let Some(p) = programmes.first() {
            q.programme_id = p.id.to_string();
        }
    }
    let (view, errors) = if q.programme_id.is_empty() {
        (None, Vec::new())
    } else {
        match state.svc.report(&auth.actor, &q).await {
            Ok(v) => (Some(v), Vec::new()),
            Err(ServiceError::Invalid(inv) | ServiceError::Refused(inv)) => (None, state.ui.errors(lang, &inv).1),
            Err(e) => return fail(state, lang, e),
        }
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let resolved = view.as_ref().map(|v| resolve(&state.ui.i18n, lang, v));
    let units = view.as_ref().map(|v| v.units.clone()).unwrap_or_default();
    // The filters as a query string for links; empty ones (and the single-table choice) left out.
    let pairs: Vec<(String, String)> = serde_json::to_value(&q)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .map(|o| {
            o.into_iter()
                .filter(|(k, _)| k != "table")
                .filter_map(|(k, v)| v.as_str().filter(|s| !s.trim().is_empty()).map(|s| (k, s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let query_string = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let charts: Vec<Vec<Option<minijinja::Value>>> = resolved
        .as_ref()
        .map(|r| {
            r.tables
                .iter()
                .map(|t| t.grids.iter().map(|g| g.chart.clone().map(minijinja::Value::from_safe_string)).collect())
                .collect()
        })
        .unwrap_or_default();
    let ctx = context! {
        ..context! {
            chosen_orgs => q.organisations.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect::<Vec<_>>(),
            programmes => programmes, report => resolved, charts => charts, units => units, q => q,
            query_string => query_string, error_list => errors, choices => filter_choices(state, lang),
            can_extract => percorsi_service::policy::allows(auth.actor.role, percorsi_service::policy::Permission::ExtractData),
            can_import => percorsi_service::policy::allows(auth.actor.role, percorsi_service::policy::Permission::ImportHistory),
        },
        ..base(state, lang, Some(&auth.session), "report-title", None),
    };
    state.ui.render(status, template, ctx)
}

/// One table side by side across programmes or years.
pub async fn compare(State(state): State<AppState>, auth: Auth, RawQuery(raw): RawQuery) -> Response {
    let lang = auth.lang;
    let Ok(q) = query_with_list::<CompareQuery>(raw.as_deref(), "programmes") else {
        return super::error_page(&state, lang, StatusCode::BAD_REQUEST, "err-invalid-input");
    };
    let programmes = match state.svc.report_programmes(&auth.actor).await {
        Ok(p) => p,
        Err(e) => return fail(&state, lang, e),
    };
    let asked = !q.programmes.trim().is_empty();
    let (view, errors) = if asked {
        match state.svc.compare(&auth.actor, &q).await {
            Ok(v) => (Some(v), Vec::new()),
            Err(ServiceError::Invalid(inv) | ServiceError::Refused(inv)) => (None, state.ui.errors(lang, &inv).1),
            Err(e) => return fail(&state, lang, e),
        }
    } else {
        (None, Vec::new())
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let resolved = view.as_ref().map(|v| resolve(&state.ui.i18n, lang, v));
    let tables: Vec<minijinja::Value> = (1..=percorsi_domain::report::TABLES)
        .map(|n| context! { number => n, title => state.ui.t(lang, &format!("report-t{n:02}-title")) })
        .collect();
    let query_string = serde_urlencoded::to_string(&q).unwrap_or_default();
    let chosen: Vec<String> = q.programmes.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let ctx = context! {
        ..context! {
            programmes => programmes, report => resolved, q => q, chosen => chosen, tables => tables,
            query_string => query_string, error_list => errors, choices => filter_choices(&state, lang),
        },
        ..base(&state, lang, Some(&auth.session), "compare-title", None),
    };
    state.ui.render(status, "reports/compare.html", ctx)
}

/// The comparison as a file (audited like every export).
pub async fn compare_export(State(state): State<AppState>, auth: Auth, RawQuery(raw): RawQuery) -> Response {
    let lang = auth.lang;
    let format = raw
        .as_deref()
        .and_then(|r| serde_urlencoded::from_str::<Vec<(String, String)>>(r).ok())
        .and_then(|p| p.into_iter().find(|(k, _)| k == "format").map(|(_, v)| v))
        .unwrap_or_default();
    if !matches!(format.as_str(), "csv" | "xlsx" | "json") {
        return super::error_page(&state, lang, StatusCode::BAD_REQUEST, "err-export-format");
    }
    let Ok(q) = query_with_list::<CompareQuery>(raw.as_deref(), "programmes") else {
        return super::error_page(&state, lang, StatusCode::BAD_REQUEST, "err-invalid-input");
    };
    let view = match state.svc.export_comparison(&auth.actor, &q, &format).await {
        Ok(v) => v,
        Err(e) => return fail(&state, lang, e),
    };
    let resolved = resolve(&state.ui.i18n, lang, &view);
    match file(&state.ui.i18n, lang, &resolved, "", &format) {
        Some(body) => download(&format, &format!("confronto-tabella-{}", q.table.trim()), body),
        None => super::error_page(&state, lang, StatusCode::NOT_FOUND, "err-not-found"),
    }
}

pub async fn export(State(state): State<AppState>, auth: Auth, Query(q): Query<ExportQuery>) -> Response {
    let lang = auth.lang;
    if !matches!(q.format.as_str(), "csv" | "xlsx" | "json") {
        return super::error_page(&state, lang, StatusCode::BAD_REQUEST, "err-export-format");
    }
    let view = match state.svc.export_report(Viewer::User(&auth.actor), &q.report, &q.format).await {
        Ok(v) => v,
        Err(e) => return fail(&state, lang, e),
    };
    let resolved = resolve(&state.ui.i18n, lang, &view);
    let name = match q.report.table.trim() {
        "" => format!("report-{}", view.programme.id),
        n => format!("report-{}-tabella-{n}", view.programme.id),
    };
    match file(&state.ui.i18n, lang, &resolved, &q.report.table, &q.format) {
        Some(body) => download(&q.format, &name, body),
        None => super::error_page(&state, lang, StatusCode::NOT_FOUND, "err-not-found"),
    }
}

pub async fn extract(State(state): State<AppState>, auth: Auth, Query(q): Query<ExportQuery>) -> Response {
    let lang = auth.lang;
    let format = if q.format == "json" { "json" } else { "csv" };
    let extract = match state.svc.extract(&auth.actor, &q.report, format).await {
        Ok(r) => r,
        Err(e) => return fail(&state, lang, e),
    };
    let body = if format == "json" {
        serde_json::to_vec_pretty(&extract).unwrap_or_default()
    } else {
        let mut w = csv::Writer::from_writer(Vec::new());
        for r in &extract.rows {
            let mut r = r.clone();
            r.organisation = crate::report_view::csv_text(&r.organisation).into_owned();
            let _ = w.serialize(r);
        }
        w.into_inner().unwrap_or_default()
    };
    // A CSV has no room for them: how the extract was protected travels in headers too.
    let mut res = download(format, &format!("estratto-{}", q.report.programme_id.trim()), body);
    let meta = [
        ("x-percorsi-k", extract.k.to_string()),
        (
            "x-percorsi-generalisation",
            serde_json::to_string(&extract.generalisation).unwrap_or_default().replace('"', ""),
        ),
        ("x-percorsi-left-out", extract.left_out.to_string()),
    ];
    for (name, value) in meta {
        if let Ok(v) = value.parse() {
            res.headers_mut().insert(name, v);
        }
    }
    res
}

pub async fn import_form(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Response {
    import_page(&state, &auth, id, None, StatusCode::OK, false).await
}

async fn import_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    outcome: Option<ImportOutcome>,
    status: StatusCode,
    fragment: bool,
) -> Response {
    let lang = auth.lang;
    if !percorsi_service::policy::allows(auth.actor.role, percorsi_service::policy::Permission::ImportHistory) {
        return fail(state, lang, ServiceError::Forbidden);
    }
    let programme = match state.svc.programme_by_name(&id.to_string()).await {
        Ok(p) => p,
        Err(e) => return fail(state, lang, e),
    };
    let errors: Vec<minijinja::Value> = outcome
        .as_ref()
        .map(|o| {
            o.errors
                .iter()
                .map(|e| {
                    let args: Vec<(&str, String)> = e.args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                    context! { line => e.line, column => e.column, value => e.value, message => state.ui.i18n.t(lang, &e.key, &args) }
                })
                .collect()
        })
        .unwrap_or_default();
    let ctx = context! {
        ..context! { programme => programme, outcome => outcome, errors => errors },
        ..base(state, lang, Some(&auth.session), "import-title", None),
    };
    // htmx swaps only successful responses: the fragment carries its errors with a 200.
    if fragment {
        state.ui.render(StatusCode::OK, "reports/import_result.html", ctx)
    } else {
        state.ui.render(status, "reports/import.html", ctx)
    }
}

/// The upload: a multipart form (works without JavaScript); with htmx the result replaces
/// only the result area and the page shows the upload's progress.
pub async fn import(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let fragment = headers.contains_key("hx-request");
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("import.csv").to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b.to_vec())),
                    Err(_) => {
                        return super::error_page(
                            &state,
                            auth.lang,
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "err-upload-too-large",
                        )
                    }
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return super::error_page(&state, auth.lang, StatusCode::BAD_REQUEST, "err-upload-broken"),
        }
    }
    let Some((name, data)) = file.filter(|(_, d)| !d.is_empty()) else {
        let outcome = ImportOutcome {
            error_count: 1,
            errors: vec![percorsi_service::import::RowError {
                line: 0,
                column: String::new(),
                value: String::new(),
                key: "err-no-file".into(),
                args: Vec::new(),
            }],
            ..Default::default()
        };
        return import_page(&state, &auth, id, Some(outcome), StatusCode::UNPROCESSABLE_ENTITY, fragment).await;
    };
    match state.svc.import_history(Importer::User(&auth.actor), id, &name, &data).await {
        Ok(outcome) => {
            let status = if outcome.written { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            import_page(&state, &auth, id, Some(outcome), status, fragment).await
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}
