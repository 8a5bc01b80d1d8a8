//! HL7 FHIR R4 at `/fhir/r4` (ADR 0019): read and search of Patient, Organization,
//! EpisodeOfCare and Consent, and a transaction bundle of Patient + EpisodeOfCare entries
//! registering people all or nothing. Bearer tokens as for `/api/v1`; errors are
//! OperationOutcome resources in the caller's language.

use super::{ApiActor, ApiError};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use percorsi_service::bulk_export::BulkStatus;
use percorsi_service::fhir;
use serde_json::{json, Value};

const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/metadata", get(metadata))
        .route("/Patient", get(patients))
        .route("/Patient/{id}", get(patient))
        .route("/Organization", get(organizations))
        .route("/Organization/{id}", get(organization))
        .route("/EpisodeOfCare", get(episodes))
        .route("/Consent", get(consents))
        .route("/CarePlan", get(care_plans))
        .route("/ServiceRequest", get(service_requests))
        .route("/Questionnaire", get(questionnaires))
        .route("/Questionnaire/{id}", get(questionnaire))
        .route("/QuestionnaireResponse", get(questionnaire_responses))
        .route("/Practitioner", get(practitioners))
        .route("/PractitionerRole", get(practitioner_roles))
        .route("/Group/{id}/$export", get(bulk_export))
        .route("/$export-status/{id}", get(bulk_status).delete(bulk_delete))
        .route("/$export-file/{id}/{file}", get(bulk_file))
}

/// The base address resources are named under (`fullUrl`).
fn base(headers: &axum::http::HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}/fhir/r4")
}

fn resource(status: StatusCode, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    res
}

/// A refusal or failure as FHIR says it: an OperationOutcome with its status.
pub struct Outcome {
    status: StatusCode,
    body: Value,
    retry_after: Option<HeaderValue>,
}

impl Outcome {
    fn new(status: StatusCode, issues: Vec<Value>) -> Outcome {
        Outcome { status, body: json!({ "resourceType": "OperationOutcome", "issue": issues }), retry_after: None }
    }
}

impl IntoResponse for Outcome {
    fn into_response(self) -> Response {
        let mut res = resource(self.status, self.body);
        if let Some(after) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, after);
        }
        res
    }
}

fn issue(code: &str, diagnostics: &str, expression: Option<&str>) -> Value {
    let mut i = json!({ "severity": "error", "code": code, "diagnostics": diagnostics });
    if let Some(e) = expression {
        i["expression"] = json!([e]);
    }
    i
}

/// An API error as an OperationOutcome with the same status (and `Retry-After` where set).
fn outcome(err: ApiError) -> Outcome {
    outcome_at(err, None)
}

/// The same, about one entry of a bundle: each issue's expression names it.
fn outcome_at(err: ApiError, entry: Option<usize>) -> Outcome {
    let code = match err.status.as_u16() {
        400 => "structure",
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        409 => "conflict",
        413 => "too-costly",
        422 => "invalid",
        429 => "throttled",
        503 => "transient",
        _ => "exception",
    };
    let detail = &err.body.error;
    let at = |field: Option<&str>| match (entry, field) {
        (Some(i), Some(f)) => Some(format!("Bundle.entry[{i}] ({f})")),
        (Some(i), None) => Some(format!("Bundle.entry[{i}]")),
        (None, f) => f.map(str::to_string),
    };
    let mut issues: Vec<Value> =
        detail.fields.iter().map(|f| issue(code, &f.message, at(Some(f.field.as_str())).as_deref())).collect();
    if issues.is_empty() {
        issues.push(issue(code, &detail.message, at(None).as_deref()));
    }
    let mut out = Outcome::new(err.status, issues);
    out.retry_after = err.into_response().headers().get(header::RETRY_AFTER).cloned();
    out
}

type FhirResult = Result<Response, Outcome>;

fn caller(who: Result<ApiActor, ApiError>) -> Result<ApiActor, Outcome> {
    who.map_err(outcome)
}

macro_rules! call {
    ($state:expr, $who:expr, $e:expr) => {
        $e.await.map_err(|e| outcome(ApiError::from_service(&$state, $who.lang, e)))?
    };
}

fn bad_request(message: &str, expression: &str) -> Outcome {
    Outcome::new(StatusCode::BAD_REQUEST, vec![issue("required", message, Some(expression))])
}

/// The CapabilityStatement: what this server offers (no token needed, as FHIR clients expect).
pub async fn metadata(headers: axum::http::HeaderMap) -> Response {
    resource(StatusCode::OK, fhir::capability_statement(&base(&headers), env!("CARGO_PKG_VERSION")))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PatientSearch {
    /// `urn:percorsi:codice-pseudonimo|<code>` or just the code.
    identifier: Option<String>,
}

pub async fn patients(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
    Query(q): Query<PatientSearch>,
) -> FhirResult {
    let who = caller(who)?;
    let code = match q.identifier.as_deref().map(|i| {
        i.rsplit_once('|').map_or(
            i,
            |(system, value)| {
                if system.is_empty() || system == fhir::CODE_SYSTEM {
                    value
                } else {
                    "\u{0}"
                }
            },
        )
    }) {
        // Only the pseudonymous code is searchable: another system matches nothing.
        Some("\u{0}") => return Ok(resource(StatusCode::OK, fhir::searchset(&base(&headers), Vec::new()))),
        other => other,
    };
    let list = call!(s, who, s.svc.fhir_patients(&who.actor, code));
    Ok(resource(StatusCode::OK, fhir::searchset(&base(&headers), list)))
}

pub async fn patient(State(s): State<AppState>, who: Result<ApiActor, ApiError>, Path(id): Path<i64>) -> FhirResult {
    let who = caller(who)?;
    Ok(resource(StatusCode::OK, call!(s, who, s.svc.fhir_patient(&who.actor, id))))
}

pub async fn organizations(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
) -> FhirResult {
    let who = caller(who)?;
    let list = call!(s, who, s.svc.fhir_organizations());
    Ok(resource(StatusCode::OK, fhir::searchset(&base(&headers), list)))
}

/// The resource of `list` with the id asked for, or the same "not found" as the JSON API.
fn one_of(s: &AppState, who: &ApiActor, list: Vec<Value>, id: &str) -> FhirResult {
    match list.into_iter().find(|r| r["id"] == id) {
        Some(r) => Ok(resource(StatusCode::OK, r)),
        None => Err(outcome(ApiError::from_service(s, who.lang, percorsi_service::ServiceError::NotFound))),
    }
}

pub async fn organization(
    State(s): State<AppState>,
    who: Result<ApiActor, ApiError>,
    Path(id): Path<String>,
) -> FhirResult {
    let who = caller(who)?;
    let list = call!(s, who, s.svc.fhir_organizations());
    one_of(&s, &who, list, &id)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ByPatient {
    /// `Patient/12` or `12`.
    patient: Option<String>,
}

fn patient_id(q: &ByPatient) -> Result<i64, Outcome> {
    q.patient
        .as_deref()
        .map(|p| p.trim_start_matches("Patient/"))
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| bad_request("patient=Patient/<id> is required", "patient"))
}

/// The searches of a person's compartment (`?patient=`): one handler each, one body.
async fn by_patient(
    s: AppState,
    headers: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
    q: ByPatient,
    kind: fhir::Compartment,
) -> FhirResult {
    let who = caller(who)?;
    let id = patient_id(&q)?;
    let list = call!(s, who, s.svc.fhir_compartment(&who.actor, id, kind));
    Ok(resource(StatusCode::OK, fhir::searchset(&base(&headers), list)))
}

pub async fn episodes(
    State(s): State<AppState>,
    h: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
    Query(q): Query<ByPatient>,
) -> FhirResult {
    by_patient(s, h, who, q, fhir::Compartment::EpisodeOfCare).await
}

pub async fn consents(
    State(s): State<AppState>,
    h: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
    Query(q): Query<ByPatient>,
) -> FhirResult {
    by_patient(s, h, who, q, fhir::Compartment::Consent).await
}

pub async fn care_plans(
    State(s): State<AppState>,
    h: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
    Query(q): Query<ByPatient>,
) -> FhirResult {
    by_patient(s, h, who, q, fhir::Compartment::CarePlan).await
}

pub async fn service_requests(
    State(s): State<AppState>,
    h: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
    Query(q): Query<ByPatient>,
) -> FhirResult {
    by_patient(s, h, who, q, fhir::Compartment::ServiceRequest).await
}

pub async fn questionnaire_responses(
    State(s): State<AppState>,
    h: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
    Query(q): Query<ByPatient>,
) -> FhirResult {
    by_patient(s, h, who, q, fhir::Compartment::QuestionnaireResponse).await
}

/// The people of the caller's organisation.
pub async fn practitioners(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
) -> FhirResult {
    let who = caller(who)?;
    let mut list = call!(s, who, s.svc.fhir_practitioner_roles(&who.actor));
    list.dedup_by_key(|m| m.user_id);
    Ok(resource(StatusCode::OK, fhir::searchset(&base(&headers), list.iter().map(fhir::practitioner).collect())))
}

/// What each person of the caller's organisation does there.
pub async fn practitioner_roles(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
) -> FhirResult {
    let who = caller(who)?;
    let list = call!(s, who, s.svc.fhir_practitioner_roles(&who.actor));
    Ok(resource(StatusCode::OK, fhir::searchset(&base(&headers), list.iter().map(fhir::practitioner_role).collect())))
}

pub async fn questionnaires(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
) -> FhirResult {
    let who = caller(who)?;
    let list = call!(s, who, s.svc.fhir_questionnaires());
    Ok(resource(StatusCode::OK, fhir::searchset(&base(&headers), list)))
}

pub async fn questionnaire(
    State(s): State<AppState>,
    who: Result<ApiActor, ApiError>,
    Path(id): Path<String>,
) -> FhirResult {
    let who = caller(who)?;
    let list = call!(s, who, s.svc.fhir_questionnaires());
    one_of(&s, &who, list, &id)
}

/// A transaction bundle of Patient + EpisodeOfCare entries: every person registered (or taken
/// in charge, or left as is when already in charge here), or none. Problems come back as one
/// OperationOutcome naming each entry.
pub async fn transaction(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
    body: Bytes,
) -> FhirResult {
    let who = caller(who)?;
    // Who may not register learns nothing about what the bundle would have done.
    percorsi_service::policy::require(&who.actor, percorsi_service::policy::Permission::RegisterPerson)
        .map_err(|e| outcome(ApiError::from_service(&s, who.lang, e)))?;
    let bundle: Value = serde_json::from_slice(&body).map_err(|e| {
        Outcome::new(StatusCode::BAD_REQUEST, vec![issue("structure", &format!("not JSON: {e}"), None)])
    })?;
    let entries = fhir::registrations_of(&bundle).map_err(|problems| {
        let issues: Vec<Value> = problems.iter().map(|(at, why)| issue("invalid", why, Some(at))).collect();
        Outcome::new(StatusCode::UNPROCESSABLE_ENTITY, issues)
    })?;
    // Which bundle entry each registration came from, to name it in errors.
    let patient_entries: Vec<usize> = bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter().enumerate().filter(|(_, x)| x["resource"]["resourceType"] == "Patient").map(|(i, _)| i).collect()
        })
        .unwrap_or_default();
    match s.svc.register_batch(&who.actor, &entries).await {
        Ok(done) => {
            let base = base(&headers);
            let responses: Vec<Value> = done
                .iter()
                .map(|d| {
                    let status = if d.outcome == "unchanged" { "200 OK" } else { "201 Created" };
                    json!({
                        "fullUrl": format!("{base}/Patient/{}", d.person_id),
                        "response": { "status": status, "location": format!("Patient/{}", d.person_id), "outcome": {
                            "resourceType": "OperationOutcome",
                            "issue": [{ "severity": "information", "code": "informational", "diagnostics": d.outcome }]
                        }}
                    })
                })
                .collect();
            Ok(resource(
                StatusCode::OK,
                json!({ "resourceType": "Bundle", "type": "transaction-response", "entry": responses }),
            ))
        }
        Err((i, e)) => {
            let entry = patient_entries.get(i).copied().unwrap_or(i);
            Err(outcome_at(ApiError::from_service(&s, who.lang, e), Some(entry)))
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ExportQuery {
    #[serde(rename = "_type")]
    types: Option<String>,
    #[serde(rename = "_outputFormat")]
    output_format: Option<String>,
}

/// Bulk data kick-off for a programme (`Group/{programme}/$export`, the analyst's extract):
/// 202 with the status address in `Content-Location`.
pub async fn bulk_export(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
    Path(id): Path<i64>,
    Query(q): Query<ExportQuery>,
    uri: axum::http::Uri,
) -> FhirResult {
    let who = caller(who)?;
    let async_asked = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "respond-async"));
    if !async_asked {
        return Err(bad_request("the bulk data export needs the header Prefer: respond-async", "Prefer"));
    }
    if let Some(f) = q
        .output_format
        .as_deref()
        .filter(|f| !matches!(*f, "application/fhir+ndjson" | "application/ndjson" | "ndjson"))
    {
        return Err(bad_request(
            &format!("_outputFormat {f} is not offered: application/fhir+ndjson"),
            "_outputFormat",
        ));
    }
    let types: Vec<String> = q
        .types
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let request = format!("{}{}", base(&headers).trim_end_matches("/fhir/r4"), uri);
    let job = call!(s, who, s.svc.fhir_bulk_start(&who.actor, id, &types, &request));
    // The files are written after the answer: a large programme takes longer than a request may.
    let (svc, actor) = (s.svc.clone(), who.actor.clone());
    tokio::spawn(async move {
        let _ = svc.fhir_bulk_run(&actor, job, id, &types).await;
    });
    let mut res = StatusCode::ACCEPTED.into_response();
    let location = format!("{}/$export-status/{job}", base(&headers));
    res.headers_mut()
        .insert(header::CONTENT_LOCATION, HeaderValue::from_str(&location).unwrap_or(HeaderValue::from_static("")));
    Ok(res)
}

/// The manifest of a finished export: one NDJSON file per resource type.
pub async fn bulk_status(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    who: Result<ApiActor, ApiError>,
    Path(id): Path<i64>,
) -> FhirResult {
    let who = caller(who)?;
    let (transaction_time, request, files) = match call!(s, who, s.svc.fhir_bulk_status(&who.actor, id)) {
        BulkStatus::InProgress { since } => {
            let mut res = StatusCode::ACCEPTED.into_response();
            let progress =
                HeaderValue::from_str(&format!("in corso dal {since}")).unwrap_or(HeaderValue::from_static("in corso"));
            res.headers_mut().insert("x-progress", progress);
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return Ok(res);
        }
        BulkStatus::Failed { error } => {
            return Err(Outcome::new(StatusCode::INTERNAL_SERVER_ERROR, vec![issue("exception", &error, None)]));
        }
        BulkStatus::Complete { transaction_time, request, files } => (transaction_time, request, files),
    };
    let base = base(&headers);
    let output: Vec<Value> = files
        .iter()
        .map(|f| {
            let (kind, part) = (&f.resource_type, f.part);
            json!({ "type": kind, "url": format!("{base}/$export-file/{id}/{kind}-{part}.ndjson"), "count": f.resources })
        })
        .collect();
    let manifest = json!({
        "transactionTime": transaction_time,
        "request": request,
        "requiresAccessToken": true,
        "output": output,
        "error": [],
    });
    Ok((StatusCode::OK, axum::Json(manifest)).into_response())
}

pub async fn bulk_delete(
    State(s): State<AppState>,
    who: Result<ApiActor, ApiError>,
    Path(id): Path<i64>,
) -> FhirResult {
    let who = caller(who)?;
    call!(s, who, s.svc.fhir_bulk_delete(&who.actor, id));
    Ok(StatusCode::ACCEPTED.into_response())
}

pub async fn bulk_file(
    State(s): State<AppState>,
    who: Result<ApiActor, ApiError>,
    Path((id, file)): Path<(i64, String)>,
) -> FhirResult {
    let who = caller(who)?;
    // `{type}-{part}.ndjson` as the manifest names them; `{type}.ndjson` is the first part.
    let name = file.strip_suffix(".ndjson").unwrap_or(&file);
    let (kind, part) = match name.rsplit_once('-').map(|(k, p)| (k, p.parse::<i64>())) {
        Some((k, Ok(p))) => (k.to_string(), p),
        _ => (name.to_string(), 1),
    };
    let body = call!(s, who, s.svc.fhir_bulk_file(&who.actor, id, &kind, part));
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/fhir+ndjson"));
    Ok(res)
}
