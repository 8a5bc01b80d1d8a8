use super::{base, fail, MsgQuery};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use percorsi_service::audit::AuditQuery;

/// The auditor's page: the newest entries and, on request, a verification of the whole chain.
pub async fn trail(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<MsgQuery>,
    Query(filter): Query<AuditQuery>,
) -> Response {
    let rows = match state.svc.audit_trail(&auth.actor, &filter, q.before).await {
        Ok(r) => r,
        Err(e) => return fail(&state, auth.lang, e),
    };
    let report = if q.verify.is_some() {
        match state.svc.verify_audit().await {
            Ok(r) => Some(r),
            Err(e) => return fail(&state, auth.lang, e),
        }
    } else {
        None
    };
    let older = rows.last().map(|r| r.id).filter(|_| rows.len() == 100);
    // The link to older entries keeps the filters.
    let filters = serde_urlencoded::to_string(&filter).unwrap_or_default();
    let ctx = context! { rows => rows, report => report, older => older, filter => filter, filters => filters, ..base(&state, auth.lang, Some(&auth.session), "audit-title", None) };
    state.ui.render(StatusCode::OK, "audit.html", ctx)
}
