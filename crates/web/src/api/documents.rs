//! API for signed documents: list a person's, upload one (the request body is the file, as for
//! imports), download one. The same policy as the person page decides what each caller sees.

use super::handlers::{ok, ApiResult, Created};
use super::{ApiActor, ApiError};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use percorsi_service::documents::Upload;
use serde::Deserialize;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
pub struct UploadQuery {
    /// The record it belongs to: `consent:12`, `project:5`, `referral:3`, `intervention:8` (from
    /// `attachable` in `GET /api/v1/persons/{id}/documents`).
    pub attached_to: String,
    /// What it is, e.g. "Consenso firmato".
    pub title: String,
    /// The name it is offered under when downloaded.
    pub file_name: String,
}

/// The person's signed documents the caller sees, and the records a new one may be attached to.
#[utoipa::path(get, path = "/api/v1/persons/{id}/documents", params(("id" = i64, Path)), responses((status = 200, body = percorsi_service::documents::PersonDocuments), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    let docs = s.svc.person_documents(&who.actor, id).await.map_err(|e| ApiError::from_service(&s, who.lang, e))?;
    ok(StatusCode::OK, docs)
}

/// Attaches a signed document (PDF, PNG or JPEG, judged by content; at most 10 MB); the body
/// is the file.
#[utoipa::path(post, path = "/api/v1/persons/{id}/documents", params(("id" = i64, Path), UploadQuery), request_body(content = String, content_type = "application/octet-stream"), responses((status = 201, body = Created), (status = 409, body = super::ErrorBody), (status = 413, body = super::ErrorBody), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn upload(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> ApiResult {
    let upload = Upload { attached_to: q.attached_to, title: q.title, file_name: q.file_name, bytes: body.to_vec() };
    let doc =
        s.svc.attach_document(&who.actor, id, &upload).await.map_err(|e| ApiError::from_service(&s, who.lang, e))?;
    ok(StatusCode::CREATED, Created { id: doc })
}

/// The file of a signed document, for whoever sees the record it is attached to (404 otherwise).
#[utoipa::path(get, path = "/api/v1/documents/{id}", params(("id" = i64, Path)), responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn download(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let (row, bytes) =
        s.svc.document_file(&who.actor, id).await.map_err(|e| ApiError::from_service(&s, who.lang, e))?;
    Ok(crate::pages::document_response(&row, bytes))
}
