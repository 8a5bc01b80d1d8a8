//! Referral pages: sending from the pathway, the organisation's triage list with accept and
//! decline, and the notifications.

use super::{base, fail, MsgQuery};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use percorsi_domain::referral::{DecisionForm, ReferralForm};
use percorsi_domain::transfer::TransferDecisionForm;
use percorsi_service::ServiceError;

pub async fn refer(
    State(state): State<AppState>,
    auth: Auth,
    Path(person): Path<i64>,
    Form(f): Form<ReferralForm>,
) -> Response {
    match state.svc.refer(&auth.actor, person, &f).await {
        Ok(_) => Redirect::to(&format!("/persone/{person}?msg=referral-sent")).into_response(),
        Err(ServiceError::Invalid(inv) | ServiceError::Refused(inv)) => {
            let (_, list) = state.ui.errors(auth.lang, &inv);
            let message = list.iter().map(|m| format!("{}: {}", m.label, m.message)).collect::<Vec<_>>().join("; ");
            let ctx = context! { status => 422, message => message, back => format!("/persone/{person}"), ..base(&state, auth.lang, Some(&auth.session), "error-title", None) };
            state.ui.render(StatusCode::UNPROCESSABLE_ENTITY, "error.html", ctx)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn render_list(
    state: &AppState,
    auth: &Auth,
    msg: Option<&str>,
    failed: Option<(i64, Vec<crate::i18n::FieldMessage>)>,
) -> Response {
    let lists = match state.svc.referrals(&auth.actor).await {
        Ok(l) => state.svc.acceptable_referrals(&auth.actor, &l).await.map(|a| (l, a)),
        Err(e) => Err(e),
    };
    let (list, acceptable) = match lists {
        Ok(l) => l,
        Err(e) => return fail(state, auth.lang, e),
    };
    let transfers = super::section!(state, auth.lang, state.svc.transfers(&auth.actor).await);
    let decidable: Vec<i64> = transfers
        .iter()
        .filter(|t| percorsi_service::Service::may_decide_transfer(&auth.actor, t))
        .map(|t| t.id)
        .collect();
    // Who can take a case transferred from another organisation without a named colleague.
    let managers = if decidable.is_empty() {
        Vec::new()
    } else {
        super::section!(state, auth.lang, state.svc.case_managers(&auth.actor).await)
    };
    let status = if failed.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let (failed_id, error_list) = failed.unwrap_or((0, Vec::new()));
    let ctx = context! {
        ..context! {
            referrals => list, acceptable => acceptable, own => auth.actor.organisation_id, failed_id => failed_id, error_list => error_list,
            transfers => transfers, decidable => decidable, my_user_id => auth.actor.user_id,
            // A failed transfer decision comes as a negative id (referrals' are positive).
            failed_transfer => -failed_id,
            managers => managers.iter().map(|m| context! { value => m.user_id.to_string(), label => m.display_name.clone() }).collect::<Vec<_>>(),
        },
        ..base(state, auth.lang, Some(&auth.session), "referrals-title", msg),
    };
    state.ui.render(status, "referrals/list.html", ctx)
}

pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    render_list(&state, &auth, q.msg.as_deref(), None).await
}

pub async fn decide(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Response {
    match state.svc.decide_referral(&auth.actor, id, &f).await {
        Ok(()) => Redirect::to("/segnalazioni?msg=referral-decided").into_response(),
        Err(ServiceError::Invalid(inv) | ServiceError::Refused(inv)) => {
            let (_, list) = state.ui.errors(auth.lang, &inv);
            render_list(&state, &auth, None, Some((id, list))).await
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

/// Accepting or declining a case transferred to the organisation (or to the user).
pub async fn decide_transfer(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<TransferDecisionForm>,
) -> Response {
    match state.svc.decide_transfer(&auth.actor, id, &f).await {
        Ok(person) if f.decision == "accettato" => {
            Redirect::to(&format!("/persone/{person}?msg=transfer-accepted")).into_response()
        }
        Ok(_) => Redirect::to("/segnalazioni?msg=transfer-declined").into_response(),
        Err(ServiceError::Invalid(inv) | ServiceError::Refused(inv)) => {
            let (_, list) = state.ui.errors(auth.lang, &inv);
            super::with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                render_list(&state, &auth, None, Some((-id, list))).await,
            )
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

/// The sender withdraws a transfer nobody has decided yet.
pub async fn withdraw_transfer(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Response {
    match state.svc.withdraw_transfer(&auth.actor, id).await {
        Ok(person) => Redirect::to(&format!("/persone/{person}?msg=transfer-withdrawn")).into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn notifications(State(state): State<AppState>, auth: Auth) -> Response {
    let list = match state.svc.notifications(&auth.actor).await {
        Ok(l) => l,
        Err(e) => return fail(&state, auth.lang, e),
    };
    let items: Vec<minijinja::Value> = list
        .iter()
        .map(|n| {
            // Arguments are plain strings; the urgency is a code shown with its label.
            let args: Vec<(String, String)> = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&n.args)
                .map(|m| {
                    m.into_iter()
                        .map(|(k, v)| {
                            let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                            let v = if k == "urgency" { state.ui.t(auth.lang, &format!("code-urgency-{v}")) } else { v };
                            (k, v)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            context! { text => state.ui.i18n.t(auth.lang, &n.message, &args), link => n.link.clone(), at => n.created_at.clone(), unread => n.read_at.is_none() }
        })
        .collect();
    // Due items belong here too: what the organisation's projects need next.
    let due = super::section!(&state, auth.lang, state.svc.project_agenda(&auth.actor).await);
    let ctx = context! { ..context! { items => items, reviews => due }, ..base(&state, auth.lang, Some(&auth.session), "notifications-title", None) };
    state.ui.render(StatusCode::OK, "referrals/notifications.html", ctx)
}
