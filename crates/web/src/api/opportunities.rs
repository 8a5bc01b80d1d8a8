//! API for the opportunities catalogue and placements.

use super::handlers::{ok, ApiResult, Created};
use super::{ApiActor, ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use percorsi_domain::opportunity::{OpportunityForm, PlacementEndForm, PlacementForm};
use percorsi_service::opportunities::OpportunitySearch;

macro_rules! call {
    ($state:expr, $who:expr, $e:expr) => {
        $e.await.map_err(|e| ApiError::from_service(&$state, $who.lang, e))?
    };
}

/// The catalogue with free places, by territory, axis and kind.
#[utoipa::path(get, path = "/api/v1/opportunities", params(OpportunitySearch), responses((status = 200, body = [percorsi_service::store::OpportunityRow])), security(("bearer" = [])))]
pub async fn list(State(s): State<AppState>, who: ApiActor, Query(q): Query<OpportunitySearch>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.opportunities(&who.actor, &q)))
}

/// Offers an opportunity (housing units need their kind and support intensity).
#[utoipa::path(post, path = "/api/v1/opportunities", request_body = OpportunityForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(s): State<AppState>, who: ApiActor, ApiJson(f): ApiJson<OpportunityForm>) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.add_opportunity(&who.actor, &f)) })
}

/// Places a person into an opportunity, optionally for a project objective.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/placements", params(("id" = i64, Path)), request_body = PlacementForm, responses((status = 201, body = Created), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn place(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<PlacementForm>,
) -> ApiResult {
    ok(StatusCode::CREATED, Created { id: call!(s, who, s.svc.place(&who.actor, id, &f)) })
}

/// Ends a placement with a date and a reason.
#[utoipa::path(post, path = "/api/v1/placements/{id}/end", params(("id" = i64, Path)), request_body = PlacementEndForm, responses((status = 204), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn end(
    State(s): State<AppState>,
    who: ApiActor,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<PlacementEndForm>,
) -> ApiResult {
    call!(s, who, s.svc.end_placement(&who.actor, id, &f));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A person's placements.
#[utoipa::path(get, path = "/api/v1/persons/{id}/placements", params(("id" = i64, Path)), responses((status = 200, body = [percorsi_service::store::PlacementRow])), security(("bearer" = [])))]
pub async fn of_person(State(s): State<AppState>, who: ApiActor, Path(id): Path<i64>) -> ApiResult {
    ok(StatusCode::OK, call!(s, who, s.svc.placements_of_person(&who.actor, id)))
}

/// Reads an Open Referral (HSDS 3.0) directory — a page of services, a list or one service —
/// into the caller's organisation's opportunities: all or nothing, and importing the same
/// directory again updates what the first import brought. `kind`, `axis`, `capacity` and
/// `territory` apply to services that do not say them.
#[utoipa::path(post, path = "/api/v1/opportunities/import", params(percorsi_service::directory::DirectoryImportForm), request_body = serde_json::Value, responses((status = 200, body = percorsi_service::directory::DirectoryImport), (status = 422, body = super::ErrorBody)), security(("bearer" = [])))]
pub async fn import(
    State(s): State<AppState>,
    who: ApiActor,
    Query(d): Query<percorsi_service::directory::DirectoryImportForm>,
    ApiJson(doc): ApiJson<serde_json::Value>,
) -> ApiResult {
    match s.svc.import_directory(&who.actor, &doc, &d).await {
        Ok(report) => ok(StatusCode::OK, report),
        Err(Err(e)) => Err(ApiError::from_service(&s, who.lang, e)),
        Err(Ok(problems)) => {
            let fields = problems
                .iter()
                .map(|p| {
                    let args: Vec<(&str, String)> = p.args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                    super::FieldErrorBody {
                        field: format!("{}.{}", p.at, p.field),
                        key: p.key.clone(),
                        message: format!(
                            "{} — {}: {}",
                            p.at,
                            s.ui.i18n.field_label(who.lang, &p.field),
                            s.ui.i18n.t(who.lang, &p.key, &args)
                        ),
                    }
                })
                .collect();
            let mut err =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", s.ui.t(who.lang, "err-invalid-input"));
            err.body.error.fields = fields;
            Err(err)
        }
    }
}
