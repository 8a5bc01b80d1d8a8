//! Open Referral HSDS 3.0 at `/hsds` (ADR 0020): the opportunities catalogue as a directory of
//! services other directories can read, with the same bearer tokens as `/api/v1`.

use super::{ApiActor, ApiError};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/services", get(services))
        .route("/services/{id}", get(service))
        .route("/datapackage.json", get(datapackage))
        .route("/{file}", get(table))
}

/// The HSDS API's root: which version and profile this directory follows.
pub async fn info() -> Response {
    Json(json!({
        "version": "3.0",
        "profile": "https://docs.openreferral.org/en/v3.0/",
        "openapi_url": "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json",
        "publisher": "Percorsi",
    }))
    .into_response()
}

#[derive(Debug, serde::Deserialize)]
#[serde(default)]
pub struct PageQuery {
    page: usize,
    per_page: usize,
}

impl Default for PageQuery {
    fn default() -> Self {
        PageQuery { page: 1, per_page: 50 }
    }
}

pub async fn services(
    State(s): State<AppState>,
    who: ApiActor,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let page = s
        .svc
        .hsds_services(&who.actor, q.page, q.per_page)
        .await
        .map_err(|e| ApiError::from_service(&s, who.lang, e))?;
    Ok((StatusCode::OK, Json(page)).into_response())
}

pub async fn service(State(s): State<AppState>, who: ApiActor, Path(id): Path<String>) -> Result<Response, ApiError> {
    let one = s.svc.hsds_service(&who.actor, &id).await.map_err(|e| ApiError::from_service(&s, who.lang, e))?;
    Ok((StatusCode::OK, Json(one)).into_response())
}

/// The CSV data package descriptor: the specification's table schemas for what is published.
pub async fn datapackage(_who: ApiActor) -> Response {
    Json(percorsi_service::directory::hsds_datapackage()).into_response()
}

/// One table of the data package (`services.csv`, `organizations.csv`, …).
pub async fn table(State(s): State<AppState>, who: ApiActor, Path(file): Path<String>) -> Result<Response, ApiError> {
    let csv = s.svc.hsds_csv(&who.actor, &file).await.map_err(|e| ApiError::from_service(&s, who.lang, e))?;
    let mut res = (StatusCode::OK, csv).into_response();
    res.headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/csv; charset=utf-8"));
    Ok(res)
}
