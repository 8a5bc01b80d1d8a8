//! Pages for what leaves Percorsi: the user's e-mail notifications and the administrator's
//! webhooks with their delivery log.

use super::{base, code_options, fail, failure_vars, form_fields, values, FormFailure, MsgQuery};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use percorsi_domain::notification::{Event, MailLanguage, MailPreferencesForm, WebhookForm};
use percorsi_service::ServiceError;

type Pairs = Vec<(String, String)>;

fn list(raw: &std::collections::BTreeMap<String, String>, key: &str) -> Vec<String> {
    raw.get(key).map_or(Vec::new(), |v| v.split(',').map(str::to_string).collect())
}

async fn render_mail(state: &AppState, auth: &Auth, msg: Option<&str>, failure: Option<FormFailure<'_>>) -> Response {
    let current = match state.svc.mail_preferences(&auth.actor).await {
        Ok(p) => p,
        Err(e) => return fail(state, auth.lang, e),
    };
    let (status, vars) = failure_vars(state, auth.lang, failure);
    let ctx = context! {
        ..context! {
            current => current,
            mail_enabled => state.mail_enabled,
            events => code_options(state, auth.lang, "mail_event", Event::ALL),
            languages => code_options(state, auth.lang, "mail_language", MailLanguage::ALL),
        },
        ..vars,
        ..base(state, auth.lang, Some(&auth.session), "mail-title", msg),
    };
    state.ui.render(status, "account_mail.html", ctx)
}

pub async fn mail(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    render_mail(&state, &auth, q.msg.as_deref(), None).await
}

pub async fn save_mail(State(state): State<AppState>, auth: Auth, Form(pairs): Form<Pairs>) -> Response {
    let raw = form_fields(pairs);
    let form = MailPreferencesForm {
        email: raw.get("email").cloned().unwrap_or_default(),
        language: raw.get("language").cloned().unwrap_or_default(),
        events: list(&raw, "events"),
    };
    let outcome = state.svc.set_mail_preferences(&auth.actor, &form).await;
    super::after_form(
        &state,
        auth.lang,
        outcome,
        "/account/notifiche?msg=mail-saved".into(),
        "mail",
        &form,
        async |f| render_mail(&state, &auth, None, Some(f)).await,
    )
    .await
}

async fn render_webhooks(
    state: &AppState,
    auth: &Auth,
    msg: Option<&str>,
    created: Option<percorsi_service::deliveries::WebhookCreated>,
    failure: Option<FormFailure<'_>>,
) -> Response {
    let hooks = match state.svc.webhooks(&auth.actor).await {
        Ok(h) => h,
        Err(e) => return fail(state, auth.lang, e),
    };
    let (status, vars) = failure_vars(state, auth.lang, failure);
    let events: Vec<Event> = Event::for_webhooks().collect();
    let ctx = context! {
        ..context! {
            webhooks => hooks,
            created => created,
            events => code_options(state, auth.lang, "mail_event", &events),
        },
        ..vars,
        ..base(state, auth.lang, Some(&auth.session), "webhooks-title", msg),
    };
    state.ui.render(status, "admin/webhooks.html", ctx)
}

pub async fn webhooks(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    render_webhooks(&state, &auth, q.msg.as_deref(), None, None).await
}

pub async fn add_webhook(State(state): State<AppState>, auth: Auth, Form(pairs): Form<Pairs>) -> Response {
    let raw = form_fields(pairs);
    let form = WebhookForm {
        url: raw.get("url").cloned().unwrap_or_default(),
        events: list(&raw, "events"),
        description: raw.get("description").cloned().unwrap_or_default(),
    };
    match state.svc.add_webhook(&auth.actor, &form).await {
        // The secret is shown on this answer only: it is not kept anywhere the page could
        // read it again.
        Ok(created) => render_webhooks(&state, &auth, Some("webhook-created"), Some(created), None).await,
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            let failure = FormFailure { form: "webhook", invalid: &inv, values: values(&form) };
            super::with_status(status, render_webhooks(&state, &auth, None, None, Some(failure)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn webhook(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<MsgQuery>,
) -> Response {
    match state.svc.webhook(&auth.actor, id).await {
        Ok((w, log)) => {
            let ctx = context! {
                ..context! { w => w, log => log },
                ..base(&state, auth.lang, Some(&auth.session), "webhook-title", q.msg.as_deref()),
            };
            state.ui.render(axum::http::StatusCode::OK, "admin/webhook.html", ctx)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn deactivate_webhook(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Response {
    match state.svc.deactivate_webhook(&auth.actor, id).await {
        Ok(()) => Redirect::to(&format!("/admin/webhook/{id}?msg=webhook-deactivated")).into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}
