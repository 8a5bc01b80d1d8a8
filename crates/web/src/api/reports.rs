//! API for outcome reports, the pseudonymised extract and historical imports.

use super::handlers::{ok, ApiResult};
use super::{ApiActor, ApiError};
use crate::pages::reports::{download, ExportQuery};
use crate::report_view::{file, resolve};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use percorsi_service::import::Importer;
use percorsi_service::reports::Viewer;
use serde::Deserialize;

macro_rules! call {
    ($state:expr, $who:expr, $e:expr) => {
        $e.await.map_err(|e| ApiError::from_service(&$state, $who.lang, e))?
    };
}

/// The file format asked for: JSON unless CSV or XLSX is named.
fn export_format<'a>(s: &AppState, who: &ApiActor, format: &'a str) -> Result<&'a str, ApiError> {
    match format {
        "" => Ok("json"),
        "csv" | "xlsx" | "json" => Ok(format),
        _ => {
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", s.ui.t(who.lang, "err-export-format")))
        }
    }
}

/// The outcome report (seed 001's fourteen tables) as JSON, CSV or XLSX; one table with
/// `table=N`. Analysts get small cells suppressed; every call is audited as an export.
#[utoipa::path(get, path = "/api/v1/reports", params(percorsi_service::reports::ReportQuery, ("format" = Option<String>, Query, description = "json (default), csv or xlsx")), responses((status = 200, body = crate::report_view::Resolved), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn report(State(s): State<AppState>, who: ApiActor, Query(q): Query<ExportQuery>) -> ApiResult {
    let format = export_format(&s, &who, &q.format)?;
    let view = call!(s, who, s.svc.export_report(Viewer::User(&who.actor), &q.report, format));
    let resolved = resolve(&s.ui.i18n, who.lang, &view);
    let body = file(&s.ui.i18n, who.lang, &resolved, &q.report.table, format)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", s.ui.t(who.lang, "err-not-found")))?;
    Ok(download(format, &format!("report-{}", view.programme.id), body))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CompareExport {
    #[serde(flatten)]
    pub compare: percorsi_service::reports::CompareQuery,
    pub format: String,
}

/// One table side by side for several programmes (`programmes=1,2`) or for the years of one
/// (`periods=year`), each column protected as its report is; JSON, CSV or XLSX. Audited.
#[utoipa::path(get, path = "/api/v1/reports/compare", params(percorsi_service::reports::CompareQuery, ("format" = Option<String>, Query, description = "json (default), csv or xlsx")), responses((status = 200, body = crate::report_view::Resolved), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn compare(State(s): State<AppState>, who: ApiActor, Query(q): Query<CompareExport>) -> ApiResult {
    let format = export_format(&s, &who, &q.format)?;
    let view = call!(s, who, s.svc.export_comparison(&who.actor, &q.compare, format));
    let resolved = resolve(&s.ui.i18n, who.lang, &view);
    let body = file(&s.ui.i18n, who.lang, &resolved, "", format)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", s.ui.t(who.lang, "err-not-found")))?;
    Ok(download(format, &format!("confronto-tabella-{}", q.compare.table.trim()), body))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImportQuery {
    pub file_name: String,
}

/// The pseudonymised extract (analysts): k-anonymous on sex, age class, organisation and months
/// (generalised as needed, the rows still alone left out), person codes valid within this
/// extract only, no identity.
#[utoipa::path(get, path = "/api/v1/reports/extract", params(percorsi_service::reports::ReportQuery), responses((status = 200, body = percorsi_service::extract::Extract), (status = 403, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn extract(State(s): State<AppState>, who: ApiActor, Query(q): Query<ExportQuery>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.extract(&who.actor, &q.report, "json")))
}

/// Imports a historical CSV (body, format in docs/import-format.md). All or nothing: 200 with
/// the counts when written, 422 with every wrong cell otherwise.
#[utoipa::path(post, path = "/api/v1/programmes/{id}/import", params(("id" = i64, Path), ("file_name" = Option<String>, Query)), request_body(content = String, content_type = "text/csv"), responses((status = 200, body = percorsi_service::import::ImportOutcome), (status = 422, body = percorsi_service::import::ImportOutcome)), security(("bearer" = [])))]
pub async fn import(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> ApiResult {
    let name = if q.file_name.trim().is_empty() { "api.csv" } else { q.file_name.trim() };
    let outcome = call!(s, who, s.svc.import_history(Importer::User(&who.actor), id, name, &body));
    let status = if outcome.written { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    ok(status, outcome)
}
