use super::{base, code_options, fail, values, MsgQuery};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::{context, Value};
use percorsi_domain::codes::{OrganisationKind, Role};
use percorsi_domain::organisation::OrganisationForm;
use percorsi_domain::user::UserForm;
use percorsi_domain::Invalid;
use percorsi_service::policy::{require, Permission};
use percorsi_service::ServiceError;
use serde::{Deserialize, Serialize};

fn form_ctx(state: &AppState, auth: &Auth, invalid: Option<&Invalid>, form: Value) -> Value {
    let (errors, summary) = invalid.map(|i| state.ui.errors(auth.lang, i)).unwrap_or_default();
    context! {
        kinds => code_options(state, auth.lang, "organisation_kind", OrganisationKind::ALL),
        roles => code_options(state, auth.lang, "role", &Role::ALL.iter().copied().filter(|r| *r != Role::Persona).collect::<Vec<_>>()),
        values => form,
        errors => errors,
        error_list => summary,
    }
}

async fn render_organisations(
    state: &AppState,
    auth: &Auth,
    msg: Option<&str>,
    invalid: Option<&Invalid>,
    form: Value,
) -> Response {
    if let Err(e) = require(&auth.actor, Permission::ManageOrganisations) {
        return fail(state, auth.lang, e);
    }
    let orgs = match state.svc.organisations().await {
        Ok(o) => o,
        Err(e) => return fail(state, auth.lang, e),
    };
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! { ..context! { organisations => orgs }, ..base(state, auth.lang, Some(&auth.session), "orgs-title", msg), ..form_ctx(state, auth, invalid, form) };
    state.ui.render(status, "admin/organisations.html", ctx)
}

pub async fn organisations(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    render_organisations(&state, &auth, q.msg.as_deref(), None, Value::from(())).await
}

pub async fn create_organisation(
    State(state): State<AppState>,
    auth: Auth,
    Form(f): Form<OrganisationForm>,
) -> Response {
    match state.svc.create_organisation(&auth.actor, &f).await {
        Ok(_) => Redirect::to("/admin/enti?msg=saved").into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_organisations(&state, &auth, None, Some(&inv), values(&f)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

#[derive(Deserialize, Serialize, Default)]
pub struct OrganisationEdit {
    #[serde(flatten)]
    form: OrganisationForm,
    #[serde(default, deserialize_with = "percorsi_domain::validation::de_bool")]
    active: bool,
}

async fn render_organisation(
    state: &AppState,
    auth: &Auth,
    id: i64,
    msg: Option<&str>,
    invalid: Option<&Invalid>,
    form: Option<Value>,
) -> Response {
    if let Err(e) = require(&auth.actor, Permission::ManageOrganisations) {
        return fail(state, auth.lang, e);
    }
    let orgs = match state.svc.organisations().await {
        Ok(o) => o,
        Err(e) => return fail(state, auth.lang, e),
    };
    let Some(org) = orgs.iter().find(|o| o.id == id).cloned() else {
        return fail(state, auth.lang, ServiceError::NotFound);
    };
    let current = form.unwrap_or_else(|| {
        context! { name => org.name.clone(), kind => org.kind.clone(), parent_id => org.parent_id.map(|p| p.to_string()).unwrap_or_default(), territory => org.territory.clone().unwrap_or_default(), active => org.active }
    });
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! { ..context! { org => org, organisations => orgs }, ..base(state, auth.lang, Some(&auth.session), "org-title", msg), ..form_ctx(state, auth, invalid, current) };
    state.ui.render(status, "admin/organisation.html", ctx)
}

pub async fn organisation(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<MsgQuery>,
) -> Response {
    render_organisation(&state, &auth, id, q.msg.as_deref(), None, None).await
}

pub async fn update_organisation(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<OrganisationEdit>,
) -> Response {
    match state.svc.update_organisation(&auth.actor, id, &f.form, f.active).await {
        Ok(()) => Redirect::to(&format!("/admin/enti/{id}?msg=saved")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_organisation(&state, &auth, id, None, Some(&inv), Some(values(&f))).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn render_users(
    state: &AppState,
    auth: &Auth,
    msg: Option<&str>,
    invalid: Option<&Invalid>,
    form: Value,
) -> Response {
    let (users, orgs) = match (state.svc.users(&auth.actor).await, state.svc.organisations().await) {
        (Ok(u), Ok(o)) => (u, o),
        (Err(e), _) | (_, Err(e)) => return fail(state, auth.lang, e),
    };
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! { ..context! { users => users, organisations => orgs }, ..base(state, auth.lang, Some(&auth.session), "users-title", msg), ..form_ctx(state, auth, invalid, form) };
    state.ui.render(status, "admin/users.html", ctx)
}

pub async fn users(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    render_users(&state, &auth, q.msg.as_deref(), None, Value::from(())).await
}

pub async fn create_user(State(state): State<AppState>, auth: Auth, Form(mut f): Form<UserForm>) -> Response {
    match state.svc.create_user(&auth.actor, &f).await {
        Ok(id) => Redirect::to(&format!("/admin/utenti/{id}?msg=saved")).into_response(),
        Err(ServiceError::Invalid(inv) | ServiceError::Refused(inv)) => {
            // Never echo a password back into the page.
            f.password.clear();
            render_users(&state, &auth, None, Some(&inv), values(&f)).await
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn render_user(state: &AppState, auth: &Auth, id: i64, msg: Option<&str>, invalid: Option<&Invalid>) -> Response {
    let (users, orgs) = match (state.svc.users(&auth.actor).await, state.svc.organisations().await) {
        (Ok(u), Ok(o)) => (u, o),
        (Err(e), _) | (_, Err(e)) => return fail(state, auth.lang, e),
    };
    let Some(u) = users.into_iter().find(|u| u.user.id == id) else {
        return fail(state, auth.lang, ServiceError::NotFound);
    };
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! { ..context! { u => u, organisations => orgs }, ..base(state, auth.lang, Some(&auth.session), "user-title", msg), ..form_ctx(state, auth, invalid, Value::from(())) };
    state.ui.render(status, "admin/user.html", ctx)
}

pub async fn user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<MsgQuery>,
) -> Response {
    render_user(&state, &auth, id, q.msg.as_deref(), None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct GrantForm {
    organisation_id: String,
    role: String,
}

pub async fn grant_role(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<GrantForm>,
) -> Response {
    match state.svc.grant_role(&auth.actor, id, &f.organisation_id, &f.role).await {
        Ok(_) => Redirect::to(&format!("/admin/utenti/{id}?msg=saved")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_user(&state, &auth, id, None, Some(&inv)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActiveForm {
    #[serde(deserialize_with = "percorsi_domain::validation::de_bool")]
    active: bool,
    user_id: Option<i64>,
}

pub async fn set_user_active(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ActiveForm>,
) -> Response {
    match state.svc.set_user_active(&auth.actor, id, f.active).await {
        Ok(()) => Redirect::to(&format!("/admin/utenti/{id}?msg=saved")).into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn set_membership_active(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ActiveForm>,
) -> Response {
    match state.svc.set_membership_active(&auth.actor, id, f.active).await {
        Ok(()) => Redirect::to(&format!("/admin/utenti/{}?msg=saved", f.user_id.unwrap_or_default())).into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    password: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<PasswordForm>,
) -> Response {
    match state.svc.reset_password(&auth.actor, id, &f.password).await {
        Ok(()) => Redirect::to(&format!("/admin/utenti/{id}?msg=password-reset")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_user(&state, &auth, id, None, Some(&inv)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn render_instruments(
    state: &AppState,
    auth: &Auth,
    msg: Option<&str>,
    invalid: Option<&Invalid>,
    form: Value,
) -> Response {
    if let Err(e) = require(&auth.actor, Permission::ManageInstruments) {
        return fail(state, auth.lang, e);
    }
    let instruments = match state.svc.list_instruments().await {
        Ok(list) => list
            .into_iter()
            .map(|(id, i)| context! { id => id, code => i.code, version => i.version, kind => i.kind, title => i.title, sections => i.sections.len() })
            .collect::<Vec<_>>(),
        Err(e) => return fail(state, auth.lang, e),
    };
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! { instruments => instruments },
        ..base(state, auth.lang, Some(&auth.session), "instruments-title", msg),
        ..form_ctx(state, auth, invalid, form),
    };
    state.ui.render(status, "admin/instruments.html", ctx)
}

pub async fn instruments(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    render_instruments(&state, &auth, q.msg.as_deref(), None, Value::from(())).await
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
pub struct InstrumentForm {
    definition: String,
}

pub async fn load_instrument(State(state): State<AppState>, auth: Auth, Form(f): Form<InstrumentForm>) -> Response {
    match state.svc.load_instrument(Some(&auth.actor), &f.definition).await {
        Ok(_) => Redirect::to("/admin/schede?msg=instrument-loaded").into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_instruments(&state, &auth, None, Some(&inv), values(&f)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInRulesForm {
    mfa_required: Option<String>,
    password_login: Option<String>,
}

pub async fn sign_in_rules(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<SignInRulesForm>,
) -> Response {
    let (mfa, password) = (f.mfa_required.is_some(), f.password_login.is_some());
    match state.svc.set_sign_in_rules(&auth.actor, id, mfa, password).await {
        Ok(()) => Redirect::to(&format!("/admin/enti/{id}?msg=saved")).into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn reset_second_factor(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Response {
    match state.svc.reset_second_factor(&auth.actor, id).await {
        Ok(()) => Redirect::to(&format!("/admin/utenti/{id}?msg=mfa-reset")).into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SsoForm {
    sso_subject: String,
}

pub async fn link_sso(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<SsoForm>,
) -> Response {
    match state.svc.link_sso(&auth.actor, id, &f.sso_subject).await {
        Ok(()) => Redirect::to(&format!("/admin/utenti/{id}?msg=saved")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_user(&state, &auth, id, None, Some(&inv)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}
