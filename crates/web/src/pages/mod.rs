//! HTML pages. Each handler: authorise through the service, render a template.

mod account;
mod admin;
mod audit;
mod auth;
mod deliveries;
mod glass;
mod interventions;
mod network;
mod notes;
mod opportunities;
mod own;
mod persons;
mod programmes;
mod projects;
mod referrals;
pub(crate) mod reports;
mod rights;
pub(crate) mod second_factor;

use crate::i18n::Lang;
use crate::session::{self, SessionState};
use crate::AppState;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::{context, Value};
use percorsi_service::policy::{allows, Permission};
use percorsi_service::ServiceError;
use std::collections::HashMap;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(
                |v: session::Visitor| async move { Redirect::to(if v.session.is_some() { "/home" } else { "/login" }) },
            ),
        )
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/login/sso", get(auth::sso_start))
        .route("/login/sso/callback", get(auth::sso_callback))
        .route("/login/codice", get(second_factor::code_form).post(second_factor::code))
        .route("/conferma", get(second_factor::reauth_form).post(second_factor::reauth))
        .route("/account/mfa", get(second_factor::show))
        .route("/account/mfa/inizia", post(second_factor::begin))
        .route("/account/mfa/conferma", post(second_factor::confirm))
        .route("/account/mfa/codici", post(second_factor::renew_codes))
        .route("/account/mfa/rimuovi", post(second_factor::remove))
        .route("/logout", post(auth::logout))
        .route("/ruolo", get(auth::choose_form).post(auth::choose))
        .route("/account", get(account::show))
        .route("/account/password", post(account::password))
        .route("/password/robustezza", post(account::strength))
        .route("/account/sessioni/{id}/fine", post(account::end_session))
        .route("/account/token/{id}/revoca", post(account::revoke_token))
        .route("/account/notifiche", get(deliveries::mail).post(deliveries::save_mail))
        .route("/lang/{code}", get(auth::set_lang))
        .route("/home", get(persons::home))
        .route("/persone", get(persons::list).post(persons::register))
        .route("/persone/nuova", get(persons::new_form))
        .route("/persone/emergenza", get(glass::form).post(glass::open))
        .route("/persone/presa-in-carico", post(persons::take_in_charge))
        .route("/persone/{id}", get(persons::show))
        .route("/persone/{id}/episodi", post(persons::open_episode))
        .route("/persone/{id}/profilo", post(persons::update_person))
        .route("/persone/{id}/rettifica", post(persons::rectify))
        .route("/persone/{id}/cancellazione", post(persons::erase))
        .route("/persone/{id}/limitazione", post(persons::restrict))
        .route("/persone/{id}/documenti", post(persons::attach_document))
        .route("/persone/{id}/invito", post(own::invite))
        .route("/persone/{id}/accesso-persona", post(own::set_access))
        .route("/invito", get(own::accept_form).post(own::accept))
        .route("/io", get(own::page))
        .route("/io/consensi/{id}/revoca", post(own::revoke_consent))
        .route("/io/autovalutazione", get(own::self_form).post(own::self_assess))
        .route("/documenti/{id}", get(persons::document))
        .route("/persone/{id}/limitazione/revoca", post(persons::lift_restriction))
        .route("/persone/{id}/copia-dati", get(rights::export))
        .route("/persone/{id}/consensi", post(persons::add_consent))
        .route("/persone/{id}/consensi/{cid}/revoca", post(persons::revoke_consent))
        .route("/episodi/{id}/chiusura", post(persons::close_episode))
        .route("/episodi/{id}/aggiornamento", post(persons::update_episode))
        .route("/episodi/{id}/equipe", post(persons::add_member))
        .route("/episodi/{id}/equipe/{mid}/rimozione", post(persons::remove_member))
        .route("/admin/enti", get(admin::organisations).post(admin::create_organisation))
        .route("/admin/enti/{id}", get(admin::organisation).post(admin::update_organisation))
        .route("/admin/utenti", get(admin::users).post(admin::create_user))
        .route("/admin/utenti/{id}", get(admin::user))
        .route("/admin/utenti/{id}/ruoli", post(admin::grant_role))
        .route("/admin/utenti/{id}/stato", post(admin::set_user_active))
        .route("/admin/utenti/{id}/password", post(admin::reset_password))
        .route("/admin/utenti/{id}/secondo-fattore/azzera", post(admin::reset_second_factor))
        .route("/admin/utenti/{id}/sso", post(admin::link_sso))
        .route("/admin/enti/{id}/accesso", post(admin::sign_in_rules))
        .route("/admin/ruoli/{id}/stato", post(admin::set_membership_active))
        .route("/admin/schede", get(admin::instruments).post(admin::load_instrument))
        .route("/admin/webhook", get(deliveries::webhooks).post(deliveries::add_webhook))
        .route("/admin/webhook/{id}", get(deliveries::webhook))
        .route("/admin/webhook/{id}/disattiva", post(deliveries::deactivate_webhook))
        .route("/audit", get(audit::trail))
        .route("/audit/emergenze", get(glass::reviews))
        .route("/audit/emergenze/{id}", post(glass::review))
        .route("/persone/{id}/progetti", get(projects::new_form).post(projects::create))
        .route("/persone/{id}/segnalazioni", post(referrals::refer))
        .route("/segnalazioni", get(referrals::list))
        .route("/persone/{id}/valutazione", get(network::assessment_form).post(network::assess))
        .route("/rete", get(network::network))
        .route("/rete/gruppi", post(network::create_group))
        .route("/rete/gruppi/{id}/incontri", post(network::add_meeting))
        .route("/opportunita", get(opportunities::list).post(opportunities::create))
        .route("/opportunita/importa", post(opportunities::import_directory))
        .route("/opportunita/{id}/inserimenti", post(opportunities::place))
        .route("/persone/{person}/inserimenti/{id}/fine", post(opportunities::end))
        .route("/segnalazioni/{id}/esito", post(referrals::decide))
        .route("/trasferimenti/{id}/esito", post(referrals::decide_transfer))
        .route("/trasferimenti/{id}/ritiro", post(referrals::withdraw_transfer))
        .route("/episodi/{id}/trasferimento", post(persons::transfer))
        .route("/persone/{id}/note", post(notes::add))
        .route("/persone/{id}/accessi", post(persons::add_access))
        .route("/note", get(notes::search))
        .route("/notifiche", get(referrals::notifications))
        .route("/progetti/{id}", get(projects::show))
        .route("/progetti/{id}/modifica", get(projects::revise_form).post(projects::revise))
        .route("/progetti/{id}/verifiche", post(projects::review))
        .route("/progetti/{id}/obiettivi/{n}/avanzamento", post(projects::progress))
        .route("/progetti/{id}/stampa", get(projects::print))
        .route("/report", get(reports::page))
        .route("/report/stampa", get(reports::print))
        .route("/report/esporta", get(reports::export))
        .route("/report/estratto", get(reports::extract))
        .route("/report/confronto", get(reports::compare))
        .route("/report/confronto/esporta", get(reports::compare_export))
        .route("/programmi/{id}/importazione", get(reports::import_form).post(reports::import))
        .route("/programmi", get(programmes::list).post(programmes::create))
        .route("/programmi/{id}", get(programmes::show).post(programmes::update))
        .route("/programmi/{id}/regole", post(programmes::change_rule))
        .route("/programmi/{id}/partecipanti", post(programmes::participation))
        .route("/persone/{id}/interventi", get(interventions::new_form).post(interventions::create))
        .route("/interventi", get(interventions::list))
        .route("/interventi/{id}", get(interventions::show))
        .route("/interventi/{id}/stato", post(interventions::transition))
        .route("/interventi/{id}/conclusione", post(interventions::conclude))
        .route("/interventi/{id}/erogazioni", post(interventions::payment))
        .route("/interventi/{id}/monitoraggio", post(interventions::monitoring))
        .route("/interventi/{id}/ricadute", post(interventions::relapse))
        .route("/interventi/{id}/presenze", post(interventions::attendance))
        .route("/interventi/{id}/schede/{kind}", get(interventions::form).post(interventions::fill))
        .route_layer(middleware::from_fn_with_state(state, session::middleware))
}

/// What every page's layout needs: language, user, acting organisation and role, navigation.
/// The menu's addresses: a page belongs to the longest one its path starts with.
const MENU: [&str; 18] = [
    "/io",
    "/home",
    "/persone",
    "/persone/nuova",
    "/segnalazioni",
    "/notifiche",
    "/note",
    "/interventi",
    "/programmi",
    "/opportunita",
    "/report",
    "/rete",
    "/admin/enti",
    "/admin/utenti",
    "/admin/schede",
    "/admin/webhook",
    "/audit",
    "/audit/emergenze",
];

/// The menu entry of the page at `path` (marked `aria-current="page"`).
fn menu_entry(path: &str) -> Option<&'static str> {
    MENU.iter()
        .copied()
        .filter(|m| path == *m || path.strip_prefix(m).is_some_and(|rest| rest.starts_with('/')))
        .max_by_key(|m| m.len())
}

pub fn base(state: &AppState, lang: Lang, session: Option<&SessionState>, title: &str, msg: Option<&str>) -> Value {
    let actor = session.and_then(|s| s.info.actor.clone());
    let role = actor.as_ref().map(|a| a.role);
    let can = |p: Permission| role.is_some_and(|r| allows(r, p));
    let flash = msg.map(|m| format!("flash-{m}")).filter(|k| state.ui.i18n.has(lang, k)).map(|k| state.ui.t(lang, &k));
    context! {
        lang => lang.code(),
        title => state.ui.t(lang, title),
        csrf => session.map(|s| s.info.csrf_token.clone()),
        user => session.map(|s| context! { display_name => s.info.display_name.clone(), username => s.info.username.clone() }),
        actor => actor,
        role_count => session.map(|s| s.info.memberships.len()).unwrap_or(0),
        can => context! {
            view_persons => can(Permission::ViewPersons),
            register => can(Permission::RegisterPerson),
            admin => can(Permission::ManageUsers),
            webhooks => can(Permission::ManageWebhooks),
            audit => can(Permission::ViewAudit),
            programmes => can(Permission::ViewProgrammes),
            interventions => can(Permission::ManageInterventions),
            tutor => can(Permission::TutorInterventions),
            reports => can(Permission::ViewReports),
            opportunities => can(Permission::ViewOpportunities),
            notifications => can(Permission::ReadNotifications),
            own_page => can(Permission::OwnPage),
            notes => can(Permission::Notes),
        },
        is_analyst => can(Permission::ExtractData),
        flash => flash,
        menu_current => session.and_then(|s| menu_entry(&s.path)),
    }
}

pub fn error_page(state: &AppState, lang: Lang, status: StatusCode, key: &str) -> Response {
    let ctx = context! { status => status.as_u16(), message => state.ui.t(lang, key), ..base(state, lang, None, "error-title", None) };
    state.ui.render(status, "error.html", ctx)
}

/// Maps a service failure to a page; invalid input is handled by each form instead.
/// The value of one section of a page, or that page's error. A section that cannot be read is
/// never shown as an empty list: the user would take "nothing there" for the truth.
macro_rules! section {
    ($state:expr, $lang:expr, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(e) => return $crate::pages::fail($state, $lang, e),
        }
    };
}
pub(crate) use section;

/// A signed document's file as a download: its checked type, never rendered in our origin
/// (`attachment`, `nosniff`, a sandbox that runs nothing), not kept by shared caches.
pub(crate) fn document_response(row: &percorsi_service::store::DocumentRow, bytes: Vec<u8>) -> Response {
    use axum::http::{header, HeaderValue};
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&row.media_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    // The name was cleaned when stored (no quotes, no control characters); non-ASCII letters
    // go in the RFC 5987 form.
    let ascii: String = row.file_name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).collect();
    let encoded: String = row
        .file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    res
}

/// A refusal that says when to come back.
pub(crate) fn with_retry_after(mut res: Response, after: axum::http::HeaderValue) -> Response {
    res.headers_mut().insert(axum::http::header::RETRY_AFTER, after);
    res
}

pub fn fail(state: &AppState, lang: Lang, err: ServiceError) -> Response {
    match err {
        ServiceError::NotFound => error_page(state, lang, StatusCode::NOT_FOUND, "err-not-found"),
        ServiceError::Forbidden => error_page(state, lang, StatusCode::FORBIDDEN, "err-forbidden"),
        ServiceError::Unauthenticated => Redirect::to("/login").into_response(),
        // The confirmation page returns to the page the action came from (the browser keeps
        // its referrer across the redirect).
        ServiceError::Reauthenticate => Redirect::to("/conferma").into_response(),
        ServiceError::Conflict(key) => error_page(state, lang, StatusCode::CONFLICT, key),
        ServiceError::Throttled(seconds) => with_retry_after(
            error_page(state, lang, StatusCode::TOO_MANY_REQUESTS, "err-too-many-attempts"),
            seconds.into(),
        ),
        ServiceError::TooMany(key) => with_retry_after(
            error_page(state, lang, StatusCode::TOO_MANY_REQUESTS, key),
            crate::RETRY_AFTER_LIMIT.clone(),
        ),
        ServiceError::Invalid(inv) => invalid_page(state, lang, StatusCode::UNPROCESSABLE_ENTITY, &inv),
        ServiceError::Refused(inv) => invalid_page(state, lang, StatusCode::CONFLICT, &inv),
        ServiceError::Unavailable(kind) => with_retry_after(
            error_page(state, lang, StatusCode::SERVICE_UNAVAILABLE, kind.message_key()),
            crate::RETRY_AFTER.clone(),
        ),
        ServiceError::Store(e) => {
            tracing::error!(error = %e, "storage failure");
            error_page(state, lang, StatusCode::INTERNAL_SERVER_ERROR, "err-internal")
        }
        ServiceError::Broken(e) => {
            tracing::error!(error = %e, "inconsistent data");
            error_page(state, lang, StatusCode::INTERNAL_SERVER_ERROR, "err-internal")
        }
    }
}

/// A form's error: 422 for input that is wrong, 409 for input refused by the current state
/// (a budget already spent by someone else, an intervention no longer in that state).
pub fn form_error(e: ServiceError) -> (StatusCode, percorsi_domain::Invalid) {
    match e {
        ServiceError::Refused(inv) => (StatusCode::CONFLICT, inv),
        ServiceError::Invalid(inv) => (StatusCode::UNPROCESSABLE_ENTITY, inv),
        // Only the two variants above are passed here; anything else is reported as a bug.
        other => {
            tracing::error!(error = %other, "form_error called with a non-form error");
            (StatusCode::INTERNAL_SERVER_ERROR, percorsi_domain::Invalid::one("_", "err-internal"))
        }
    }
}

/// The re-rendered form answers with the status of its error.
pub fn with_status(status: StatusCode, mut res: Response) -> Response {
    if res.status() == StatusCode::UNPROCESSABLE_ENTITY {
        *res.status_mut() = status;
    }
    res
}

fn invalid_page(state: &AppState, lang: Lang, status: StatusCode, inv: &percorsi_domain::Invalid) -> Response {
    let (_, list) = state.ui.errors(lang, inv);
    let message = list.iter().map(|m| format!("{}: {}", m.label, m.message)).collect::<Vec<_>>().join("; ");
    let ctx =
        context! { status => status.as_u16(), message => message, ..base(state, lang, None, "error-title", None) };
    state.ui.render(status, "error.html", ctx)
}

/// `[{value, label}]` for a select, labels from the Fluent `code-<list>-<code>` messages.
pub fn code_options<T: std::fmt::Display>(
    state: &AppState,
    lang: Lang,
    list: &str,
    all: &[T],
) -> Vec<HashMap<&'static str, String>> {
    all.iter()
        .map(|c| {
            let code = c.to_string();
            HashMap::from([("label", state.ui.t(lang, &format!("code-{list}-{code}"))), ("value", code)])
        })
        .collect()
}

/// A submitted form as field → value, without the CSRF token; a field sent several times
/// (checkboxes, multiple selects) has its values joined by commas.
pub fn form_fields(pairs: Vec<(String, String)>) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in pairs {
        if k == session::CSRF_FIELD {
            continue;
        }
        out.entry(k)
            .and_modify(|e: &mut String| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert(v);
    }
    out
}

/// Serialises a form struct back into the template so the user's input is never lost.
pub fn values<T: serde::Serialize>(form: &T) -> Value {
    Value::from_serialize(form)
}

/// Which form of a page failed, with the user's input, so the page shows it again.
pub struct FormFailure<'a> {
    pub form: &'static str,
    pub invalid: &'a percorsi_domain::Invalid,
    pub values: Value,
}

/// After a form: on success a redirect to `done`; on invalid input the page again (`render`)
/// with the errors next to the fields and the input kept; otherwise the error page.
pub async fn after_form<T: serde::Serialize>(
    state: &AppState,
    lang: Lang,
    outcome: Result<(), ServiceError>,
    done: String,
    form: &'static str,
    input: &T,
    render: impl AsyncFnOnce(FormFailure<'_>) -> Response,
) -> Response {
    match outcome {
        Ok(()) => Redirect::to(&done).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = form_error(e);
            with_status(status, render(FormFailure { form, invalid: &inv, values: values(input) }).await)
        }
        Err(e) => fail(state, lang, e),
    }
}

/// The status and template variables (`failed_form`, `errors`, `error_list`, `failed_values`)
/// of a page with several forms, after one of them failed or not.
pub fn failure_vars(state: &AppState, lang: Lang, failure: Option<FormFailure<'_>>) -> (StatusCode, Value) {
    match failure {
        Some(f) => {
            let (errors, list) = state.ui.errors(lang, f.invalid);
            let vars =
                context! { failed_form => f.form, errors => errors, error_list => list, failed_values => f.values };
            (StatusCode::UNPROCESSABLE_ENTITY, vars)
        }
        None => {
            let none: Vec<crate::i18n::FieldMessage> = Vec::new();
            let vars = context! { failed_form => (), errors => HashMap::<String, String>::new(), error_list => none, failed_values => () };
            (StatusCode::OK, vars)
        }
    }
}

#[derive(serde::Deserialize, Default)]
pub struct MsgQuery {
    pub msg: Option<String>,
    pub q: Option<String>,
    pub next: Option<String>,
    pub verify: Option<String>,
    pub before: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::menu_entry;

    #[test]
    fn a_page_belongs_to_the_longest_menu_entry_it_starts_with() {
        assert_eq!(menu_entry("/persone/6"), Some("/persone"));
        assert_eq!(menu_entry("/persone/nuova"), Some("/persone/nuova"));
        assert_eq!(menu_entry("/audit/emergenze"), Some("/audit/emergenze"));
        assert_eq!(menu_entry("/audit"), Some("/audit"));
        assert_eq!(menu_entry("/interventi/8/schede/pre"), Some("/interventi"));
        assert_eq!(menu_entry("/personeX"), None);
        assert_eq!(menu_entry("/progetti/1"), None);
    }
}
