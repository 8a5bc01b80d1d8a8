//! The opportunities catalogue: search by territory, axis and kind; offering an opportunity;
//! placing a person; ending a placement (from the pathway).

use super::{base, code_options, fail, values};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::{context, Value};
use percorsi_domain::opportunity::{
    HousingKind, OpportunityForm, OpportunityKind, PlacementEnd, PlacementEndForm, PlacementForm, SupportIntensity,
};
use percorsi_domain::project::Axis;
use percorsi_domain::Invalid;
use percorsi_service::opportunities::OpportunitySearch;
use percorsi_service::policy::{allows, Permission};
use percorsi_service::ServiceError;

async fn render(
    state: &AppState,
    auth: &Auth,
    q: &OpportunitySearch,
    msg: Option<&str>,
    failure: Option<(&Invalid, Value)>,
) -> Response {
    render_with(state, auth, q, msg, failure, Value::from(())).await
}

/// The page, with the outcome of a directory import (`directory`: counts or problems).
async fn render_with(
    state: &AppState,
    auth: &Auth,
    q: &OpportunitySearch,
    msg: Option<&str>,
    failure: Option<(&Invalid, Value)>,
    directory: Value,
) -> Response {
    let lang = auth.lang;
    let list = match state.svc.opportunities(&auth.actor, q).await {
        Ok(l) => l,
        Err(e) => return fail(state, lang, e),
    };
    let choices = if allows(auth.actor.role, Permission::ManageProjects) {
        super::section!(state, lang, state.svc.placement_choices(&auth.actor).await)
    } else {
        Vec::new()
    };
    let territories = super::section!(state, lang, state.svc.opportunity_territories(&auth.actor).await);
    let (errors, error_list) = failure.as_ref().map(|(i, _)| state.ui.errors(lang, i)).unwrap_or_default();
    let status = if failure.is_some() || directory.get_attr("problems").is_ok_and(|p| !p.is_undefined()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! {
        ..context! {
            opportunities => list, q => context! { territory => q.territory.clone(), axis => q.axis.clone(), kind => q.kind.clone() },
            axes => code_options(state, lang, "axis", Axis::ALL),
            kinds => code_options(state, lang, "opportunity_kind", OpportunityKind::ALL),
            housing_kinds => code_options(state, lang, "housing_kind", HousingKind::ALL),
            intensities => code_options(state, lang, "support_intensity", SupportIntensity::ALL),
            choices => choices, territories => territories,
            can_offer => allows(auth.actor.role, Permission::ManageOpportunities),
            can_place => allows(auth.actor.role, Permission::ManageProjects),
            today => percorsi_service::today().to_string(),
            errors => errors, error_list => error_list, values => failure.map(|(_, v)| v),
            directory => directory,
        },
        ..base(state, lang, Some(&auth.session), "opportunities-title", msg),
    };
    state.ui.render(status, "opportunities/list.html", ctx)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ListQuery {
    #[serde(flatten)]
    pub search: OpportunitySearch,
    pub msg: Option<String>,
}

pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> Response {
    render(&state, &auth, &q.search, q.msg.as_deref(), None).await
}

pub async fn create(State(state): State<AppState>, auth: Auth, Form(f): Form<OpportunityForm>) -> Response {
    match state.svc.add_opportunity(&auth.actor, &f).await {
        Ok(_) => Redirect::to("/opportunita?msg=opportunity-saved").into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(
                status,
                render(&state, &auth, &OpportunitySearch::default(), None, Some((&inv, values(&f)))).await,
            )
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn place(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<PlacementForm>,
) -> Response {
    match state.svc.place(&auth.actor, id, &f).await {
        Ok(_) => Redirect::to(&format!("/persone/{}?msg=placement-saved", f.person_id.trim())).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(
                status,
                render(&state, &auth, &OpportunitySearch::default(), None, Some((&inv, values(&f)))).await,
            )
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn end(
    State(state): State<AppState>,
    auth: Auth,
    Path((person, id)): Path<(i64, i64)>,
    Form(f): Form<PlacementEndForm>,
) -> Response {
    match state.svc.end_placement(&auth.actor, id, &f).await {
        Ok(()) => Redirect::to(&format!("/persone/{person}?msg=placement-ended")).into_response(),
        Err(e) => fail(&state, auth.lang, e),
    }
}

/// The reasons a placement may end, for the pathway's form.
pub fn end_reasons(state: &AppState, lang: crate::i18n::Lang) -> Vec<std::collections::HashMap<&'static str, String>> {
    code_options(state, lang, "placement_end", PlacementEnd::ALL)
}

/// Reads an Open Referral (HSDS 3.0) directory file into the organisation's opportunities: the
/// page shows what was created and updated, or every problem with where it is.
pub async fn import_directory(
    State(state): State<AppState>,
    auth: Auth,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let mut file = Vec::new();
    let mut choices = percorsi_service::directory::DirectoryImportForm::default();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let Ok(bytes) = field.bytes().await else {
                    return super::error_page(&state, auth.lang, StatusCode::PAYLOAD_TOO_LARGE, "err-upload-too-large");
                };
                let text = || String::from_utf8_lossy(&bytes).trim().to_string();
                match name.as_str() {
                    "file" => file = bytes.to_vec(),
                    "kind" => choices.kind = text(),
                    "axis" => choices.axis = text(),
                    "capacity" => choices.capacity = text(),
                    "territory" => choices.territory = text(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => return super::error_page(&state, auth.lang, StatusCode::BAD_REQUEST, "err-upload-broken"),
        }
    }
    let lang = auth.lang;
    let problem = |at: &str, message: String| context! { at => at, message => message };
    let doc: serde_json::Value = match serde_json::from_slice(&file) {
        Ok(v) => v,
        Err(_) => {
            let problems = vec![problem("file", state.ui.t(lang, "err-directory-not-json"))];
            return render_with(
                &state,
                &auth,
                &OpportunitySearch::default(),
                None,
                None,
                context! { problems => problems },
            )
            .await;
        }
    };
    let outcome = match state.svc.import_directory(&auth.actor, &doc, &choices).await {
        Ok(report) => context! { report => report },
        Err(Ok(list)) => {
            let problems: Vec<Value> = list
                .iter()
                .map(|p| {
                    let args: Vec<(&str, String)> = p.args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                    let message = format!(
                        "{}: {}",
                        state.ui.i18n.field_label(lang, &p.field),
                        state.ui.i18n.t(lang, &p.key, &args)
                    );
                    problem(&p.at, message)
                })
                .collect();
            context! { problems => problems }
        }
        Err(Err(e)) => return fail(&state, lang, e),
    };
    render_with(&state, &auth, &OpportunitySearch::default(), None, None, outcome).await
}
