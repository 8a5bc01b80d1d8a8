use super::{after_form, base, code_options, fail, failure_vars, values, FormFailure, MsgQuery};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::{context, Value};
use percorsi_domain::codes::*;
use percorsi_domain::consent::ConsentForm;
use percorsi_domain::episode::{CloseEpisodeForm, EpisodeForm, EpisodeUpdateForm, TeamMemberForm};
use percorsi_domain::person::{IdentityCorrectionForm, PersonForm, PersonUpdateForm};
use percorsi_domain::Invalid;
use percorsi_service::pathway::Registration;
use percorsi_service::policy::{allows, Permission};
use percorsi_service::rights::RestrictionForm;
use percorsi_service::{today, ServiceError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct RegisterForm {
    #[serde(flatten)]
    person: PersonForm,
    #[serde(flatten)]
    episode: EpisodeForm,
    /// `presa_in_carico` (default) or `accesso` (record the access and orientation only).
    #[serde(default)]
    step: String,
    #[serde(flatten)]
    access: percorsi_domain::access::AccessForm,
}

/// The home page: a case manager's people; other roles see what their role offers.
pub async fn home(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    if allows(auth.actor.role, Permission::OwnPage) {
        return Redirect::to("/io").into_response();
    }
    let today = match state.svc.role_home(&auth.actor).await {
        Ok(h) => h,
        Err(e) => return fail(&state, auth.lang, e),
    };
    // Who oversees interventions without managing them has no people of their own to follow:
    // their list is not read at all.
    let followed = if allows(auth.actor.role, Permission::ViewPersons) && today.organisation_due.is_none() {
        match state.svc.followed(&auth.actor).await {
            Ok(rows) => Some(rows),
            Err(e) => return fail(&state, auth.lang, e),
        }
    } else {
        None
    };
    let due = if allows(auth.actor.role, Permission::ManageInterventions) {
        Some(super::section!(&state, auth.lang, state.svc.due(&auth.actor).await))
    } else {
        None
    };
    let tutored = if allows(auth.actor.role, Permission::TutorInterventions) {
        Some(super::section!(&state, auth.lang, state.svc.tutored(&auth.actor).await))
    } else {
        None
    };
    let reviews = super::section!(&state, auth.lang, state.svc.project_agenda(&auth.actor).await);
    let ctx = context! {
        ..context! { followed => followed, due => due, tutored => tutored, reviews => reviews, today => today },
        ..base(&state, auth.lang, Some(&auth.session), "home-title", q.msg.as_deref()),
    };
    state.ui.render(StatusCode::OK, "home.html", ctx)
}

pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<MsgQuery>) -> Response {
    let listed = match state.svc.persons(&auth.actor, q.q.as_deref()).await {
        Ok(rows) => state.svc.restricted_persons(&auth.actor).await.map(|restricted| (rows, restricted)),
        Err(e) => Err(e),
    };
    match listed {
        Ok((rows, restricted)) => {
            let ctx = context! { persons => rows, restricted => restricted, q => q.q, ..base(&state, auth.lang, Some(&auth.session), "persons-title", q.msg.as_deref()) };
            state.ui.render(StatusCode::OK, "persons/list.html", ctx)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn episode_choices(state: &AppState, auth: &Auth) -> Result<Value, ServiceError> {
    let managers = state.svc.case_managers(&auth.actor).await?;
    let lang = auth.lang;
    Ok(context! {
        case_manager_options => manager_options(&managers),
        substances => code_options(state, lang, "substance", Substance::ALL),
    })
}

/// What the access part of the registration form offers.
fn access_choices(
    state: &AppState,
    lang: crate::i18n::Lang,
    organisations: Vec<percorsi_service::store::OrganisationRow>,
) -> Value {
    use percorsi_domain::access::{AccessChannel, AccessOutcome, AccessService};
    context! {
        access_channels => code_options(state, lang, "access_channel", AccessChannel::ALL),
        access_outcomes => code_options(state, lang, "access_outcome", AccessOutcome::ALL),
        access_services => code_options(state, lang, "access_service", AccessService::ALL),
        organisation_options => organisations.iter().filter(|o| o.active).map(|o| option(o.id, o.name.clone())).collect::<Vec<_>>(),
    }
}

fn person_choices(state: &AppState, auth: &Auth) -> Value {
    let lang = auth.lang;
    context! {
        sexes => code_options(state, lang, "sex", Sex::ALL),
        educations => code_options(state, lang, "education", Education::ALL),
        work_histories => code_options(state, lang, "work_history", WorkHistory::ALL),
        living_situations => code_options(state, lang, "living_situation", LivingSituation::ALL),
        user_classes => code_options(state, lang, "user_class", UserClass::ALL),
    }
}

async fn render_new(state: &AppState, auth: &Auth, form: &RegisterForm, invalid: Option<&Invalid>) -> Response {
    if !allows(auth.actor.role, Permission::RegisterPerson) {
        return fail(state, auth.lang, ServiceError::Forbidden);
    }
    let choices = match episode_choices(state, auth).await {
        Ok(c) => c,
        Err(e) => return fail(state, auth.lang, e),
    };
    let organisations = match state.svc.organisations().await {
        Ok(o) => o,
        Err(e) => return fail(state, auth.lang, e),
    };
    let (errors, summary) = invalid.map(|i| state.ui.errors(auth.lang, i)).unwrap_or_default();
    let status = if invalid.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        ..context! { values => values(form), errors => errors, error_list => summary, today => today().to_string() },
        ..base(state, auth.lang, Some(&auth.session), "register-title", None),
        ..person_choices(state, auth),
        ..choices,
        ..access_choices(state, auth.lang, organisations),
    };
    state.ui.render(status, "persons/new.html", ctx)
}

pub async fn new_form(State(state): State<AppState>, auth: Auth) -> Response {
    let mut form = RegisterForm::default();
    form.episode.start_date = today().format("%Y-%m-%d").to_string();
    if auth.actor.role == Role::CaseManager {
        form.episode.case_manager_id = auth.actor.user_id.to_string();
    }
    render_new(&state, &auth, &form, None).await
}

pub async fn register(State(state): State<AppState>, auth: Auth, Form(form): Form<RegisterForm>) -> Response {
    let outcome = if form.step == "accesso" {
        state.svc.record_access(&auth.actor, &form.person, &form.access).await
    } else {
        state.svc.register_person(&auth.actor, &form.person, &form.episode).await
    };
    match outcome {
        Ok(Registration::Created { person_id, .. }) if form.step == "accesso" => {
            // An access recorded more than 90 days after it happened no longer shows the person:
            // say so on the list instead of opening a page that answers 404.
            let visible = form.access.validate(today()).is_ok_and(|a| a.visible_until >= today());
            if visible {
                Redirect::to(&format!("/persone/{person_id}?msg=access-registered")).into_response()
            } else {
                Redirect::to("/persone?msg=access-registered-past").into_response()
            }
        }
        Ok(Registration::Created { person_id, .. }) => {
            Redirect::to(&format!("/persone/{person_id}?msg=registered")).into_response()
        }
        Ok(Registration::AlreadyFollowed { person_id, .. }) => {
            Redirect::to(&format!("/persone/{person_id}?msg=already-followed")).into_response()
        }
        Ok(Registration::KnownElsewhere { code }) => {
            let ctx = context! { code => code, values => values(&form), ..base(&state, auth.lang, Some(&auth.session), "known-title", None) };
            state.ui.render(StatusCode::OK, "persons/known.html", ctx)
        }
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_new(&state, &auth, &form, Some(&inv)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn take_in_charge(State(state): State<AppState>, auth: Auth, Form(form): Form<RegisterForm>) -> Response {
    // The "già noto" page carries the first form's choice: take in charge, or the access only.
    let (outcome, msg) = if form.step == "accesso" {
        (state.svc.access_known(&auth.actor, &form.person, &form.access).await, "access-saved")
    } else {
        (state.svc.take_in_charge(&auth.actor, &form.person, &form.episode).await, "taken-in-charge")
    };
    match outcome {
        Ok(person_id) => Redirect::to(&format!("/persone/{person_id}?msg={msg}")).into_response(),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Refused(_))) => {
            let (status, inv) = super::form_error(e);
            super::with_status(status, render_new(&state, &auth, &form, Some(&inv)).await)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

async fn render_show(
    state: &AppState,
    auth: &Auth,
    id: i64,
    msg: Option<&str>,
    failure: Option<FormFailure<'_>>,
) -> Response {
    let lang = auth.lang;
    let pathway = match state.svc.pathway(&auth.actor, id).await {
        Ok(p) => p,
        Err(e) => return fail(state, lang, e),
    };
    let open_here =
        pathway.episodes.iter().any(|e| e.organisation_id == auth.actor.organisation_id && e.end_date.is_none());
    let can_episodes = allows(auth.actor.role, Permission::ManageEpisodes);
    let managers = if can_episodes && !open_here {
        super::section!(state, lang, state.svc.case_managers(&auth.actor).await)
    } else {
        Vec::new()
    };
    let candidates = if pathway.manageable_episode.is_some() {
        super::section!(state, lang, state.svc.team_candidates().await)
    } else {
        Vec::new()
    };
    let organisations = if pathway.can_manage_consents {
        super::section!(state, lang, state.svc.organisations().await)
    } else {
        Vec::new()
    };
    // Every section below needs what the pathway itself needed: a failure is the page's error.
    let interventions = super::section!(state, lang, state.svc.interventions_of_person(&auth.actor, id).await);
    let projects = super::section!(state, lang, state.svc.projects_of_person(&auth.actor, id).await);
    let referrals = super::section!(state, lang, state.svc.referrals_of_person(&auth.actor, id).await);
    let placements = super::section!(state, lang, state.svc.placements_of_person(&auth.actor, id).await);
    let assessments = super::section!(state, lang, state.svc.person_assessments(&auth.actor, id).await);
    let documents = super::section!(state, lang, state.svc.person_documents(&auth.actor, id).await);
    let self_assessments = super::section!(state, lang, state.svc.self_assessments_of(&auth.actor, id).await);
    let notes = if allows(auth.actor.role, Permission::Notes) {
        Some(super::section!(state, lang, state.svc.person_notes(&auth.actor, id, None).await))
    } else {
        None
    };
    let transfers = super::section!(state, lang, state.svc.transfers_of_person(&auth.actor, id).await);
    let accesses = super::section!(state, lang, state.svc.accesses_of_person(&auth.actor, id).await);
    let can_transfer = pathway.manageable_episode.is_some() && allows(auth.actor.role, Permission::TransferCases);
    let transfer_managers =
        if can_transfer { super::section!(state, lang, state.svc.network_case_managers().await) } else { Vec::new() };
    // The person's own access, for the organisation in charge (others are not told).
    let person_account = if open_here && allows(auth.actor.role, Permission::ViewIdentity) {
        Some(super::section!(state, lang, state.svc.person_account(&auth.actor, id).await))
    } else {
        None
    };
    let pathway_members: Vec<(i64, i64)> =
        pathway.team.iter().filter(|m| m.removed_at.is_none()).map(|m| (m.user_id, m.organisation_id)).collect();
    let (status, failure_vars) = failure_vars(state, lang, failure);
    let ctx = context! {
        ..context! {
            can_edit => allows(auth.actor.role, Permission::ViewIdentity),
            sexes => code_options(state, lang, "sex", Sex::ALL),
            educations => code_options(state, lang, "education", Education::ALL),
            work_histories => code_options(state, lang, "work_history", WorkHistory::ALL),
            living_situations => code_options(state, lang, "living_situation", LivingSituation::ALL),
            user_classes => code_options(state, lang, "user_class", UserClass::ALL),
            p => pathway,
            interventions => interventions,
            projects => projects,
            referrals => referrals,
            placements => placements,
            assessments => assessments,
            documents => documents,
            self_assessments => self_assessments,
            notes => notes,
            note_visibilities => code_options(state, lang, "note_visibility", percorsi_domain::note::NoteVisibility::ALL),
            transfers => transfers,
            accesses => accesses,
            can_access => allows(auth.actor.role, Permission::RegisterPerson),
            access_channels => code_options(state, lang, "access_channel", percorsi_domain::access::AccessChannel::ALL),
            access_outcomes => code_options(state, lang, "access_outcome", percorsi_domain::access::AccessOutcome::ALL),
            access_services => code_options(state, lang, "access_service", percorsi_domain::access::AccessService::ALL),
            can_transfer => can_transfer,
            transfer_managers => transfer_managers.iter().filter(|m| m.user_id != auth.actor.user_id)
                .map(|m| context! { value => m.user_id.to_string(), label => format!("{} ({})", m.display_name, m.organisation_name) }).collect::<Vec<_>>(),
            can_invite => person_account.is_some(),
            person_account => person_account.flatten(),
            own_org => auth.actor.organisation_id,
            can_place => allows(auth.actor.role, Permission::ManageProjects),
            end_reasons => super::opportunities::end_reasons(state, lang),
            can_refer => allows(auth.actor.role, Permission::RegisterPerson),
            urgencies => code_options(state, lang, "urgency", percorsi_domain::referral::Urgency::ALL),
            support_options => code_options(state, lang, "support", percorsi_domain::project::SupportKind::ALL),
            can_project => open_here && allows(auth.actor.role, Permission::ManageProjects),
            can_plan => open_here && allows(auth.actor.role, Permission::ManageInterventions),
            open_here => open_here,
            can_episodes => can_episodes,
            case_manager_options => manager_options(&managers),
            candidate_options => candidates.iter().filter(|c| !pathway_members.contains(&(c.user_id, c.organisation_id))).map(|c| option(c.id, format!("{} — {} ({})", c.display_name, c.organisation_name, state.ui.t(lang, &format!("code-role-{}", c.role))))).collect::<Vec<_>>(),
            organisation_options => organisations.iter().filter(|o| o.active).map(|o| option(o.id, o.name.clone())).collect::<Vec<_>>(),
            substances => code_options(state, lang, "substance", Substance::ALL),
            closures => code_options(state, lang, "episode_closure", EpisodeClosure::ALL),
            purposes => code_options(state, lang, "consent_purpose", ConsentPurpose::ALL),
            today => today().format("%Y-%m-%d").to_string(),
            my_user_id => auth.actor.user_id,
        },
        ..base(state, lang, Some(&auth.session), "pathway-title", msg),
        ..failure_vars,
    };
    state.ui.render(status, "persons/show.html", ctx)
}

pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<MsgQuery>,
) -> Response {
    render_show(&state, &auth, id, q.msg.as_deref(), None).await
}

fn done(person_id: i64, msg: &str) -> Response {
    Redirect::to(&format!("/persone/{person_id}?msg={msg}")).into_response()
}

/// Which record a pathway sub-form belongs to, to show the page again when it fails.
enum Target {
    Person(i64),
    Episode(i64),
}

/// After a pathway sub-form: back to the person with a confirmation, or the page again with the
/// errors next to the fields and the input kept.
async fn after_sub_form<T: Serialize>(
    state: &AppState,
    auth: &Auth,
    outcome: Result<i64, ServiceError>,
    target: Target,
    form: &'static str,
    input: &T,
    msg: &str,
) -> Response {
    let (outcome, done) = match outcome {
        Ok(person_id) => (Ok(()), format!("/persone/{person_id}?msg={msg}")),
        Err(e) => (Err(e), String::new()),
    };
    after_form(state, auth.lang, outcome, done, form, input, async |failure| {
        let person = match target {
            Target::Person(id) => Ok(id),
            Target::Episode(id) => state.svc.episode_person(&auth.actor, id).await,
        };
        match person {
            Ok(pid) => render_show(state, auth, pid, None, Some(failure)).await,
            Err(e) => fail(state, auth.lang, e),
        }
    })
    .await
}

/// A form of the pathway page about the person (a note): back to the page, or the page
/// again with the errors.
pub(super) async fn after_person_form<T: Serialize>(
    state: &AppState,
    auth: &Auth,
    outcome: Result<i64, ServiceError>,
    person: i64,
    form: &'static str,
    input: &T,
    msg: &str,
) -> Response {
    after_sub_form(state, auth, outcome, Target::Person(person), form, input, msg).await
}

/// Records an access (a return, a new orientation) for a person the organisation sees.
pub async fn add_access(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<percorsi_domain::access::AccessForm>,
) -> Response {
    let outcome = state.svc.add_access(&auth.actor, id, &f).await.map(|_| id);
    after_sub_form(&state, &auth, outcome, Target::Person(id), "access", &f, "access-saved").await
}

/// Proposes moving the organisation's episode to a colleague or another organisation.
pub async fn transfer(
    State(state): State<AppState>,
    auth: Auth,
    Path(episode): Path<i64>,
    Form(f): Form<percorsi_domain::transfer::TransferForm>,
) -> Response {
    let outcome = match state.svc.propose_transfer(&auth.actor, episode, &f).await {
        Ok(_) => state.svc.episode_person(&auth.actor, episode).await,
        Err(e) => Err(e),
    };
    after_sub_form(&state, &auth, outcome, Target::Episode(episode), "transfer", &f, "transfer-proposed").await
}

pub async fn update_person(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<PersonUpdateForm>,
) -> Response {
    let outcome = state.svc.update_person(&auth.actor, id, &f).await.map(|_| id);
    after_sub_form(&state, &auth, outcome, Target::Person(id), "profile", &f, "person-updated").await
}

/// Rectification of the identity (GDPR art. 16) by the organisation in charge.
pub async fn rectify(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<IdentityCorrectionForm>,
) -> Response {
    let outcome = state.svc.rectify_identity(&auth.actor, id, &f).await.map(|_| id);
    after_sub_form(&state, &auth, outcome, Target::Person(id), "rectify", &f, "identity-rectified").await
}

/// Restriction of processing on the person's request (GDPR art. 18).
pub async fn restrict(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<RestrictionForm>,
) -> Response {
    let outcome = state.svc.restrict_processing(&auth.actor, id, &f).await.map(|_| id);
    after_sub_form(&state, &auth, outcome, Target::Person(id), "restrict", &f, "person-restricted").await
}

/// What the document upload form sent, kept to show the form again (the file is not).
#[derive(Debug, Default, Serialize)]
struct DocumentInput {
    attached_to: String,
    title: String,
}

/// Attaching a signed document (a multipart form that works without JavaScript).
pub async fn attach_document(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    mut multipart: axum::extract::Multipart,
) -> Response {
    let mut upload = percorsi_service::documents::Upload::default();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                if name == "file" {
                    upload.file_name = field.file_name().unwrap_or("").to_string();
                }
                let Ok(bytes) = field.bytes().await else {
                    return super::error_page(
                        &state,
                        auth.lang,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "err-document-too-large",
                    );
                };
                match name.as_str() {
                    "file" => upload.bytes = bytes.to_vec(),
                    "attached_to" => upload.attached_to = String::from_utf8_lossy(&bytes).into_owned(),
                    "title" => upload.title = String::from_utf8_lossy(&bytes).into_owned(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => return super::error_page(&state, auth.lang, StatusCode::BAD_REQUEST, "err-upload-broken"),
        }
    }
    let input = DocumentInput { attached_to: upload.attached_to.clone(), title: upload.title.clone() };
    let outcome = state.svc.attach_document(&auth.actor, id, &upload).await.map(|_| id);
    after_sub_form(&state, &auth, outcome, Target::Person(id), "document", &input, "document-attached").await
}

/// A signed document's file.
pub async fn document(State(state): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Response {
    match state.svc.document_file(&auth.actor, id).await {
        Ok((row, bytes)) => super::document_response(&row, bytes),
        Err(e) => fail(&state, auth.lang, e),
    }
}

/// Lifting the restriction of processing.
pub async fn lift_restriction(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<RestrictionForm>,
) -> Response {
    let outcome = state.svc.lift_restriction(&auth.actor, id, &f).await.map(|_| id);
    after_sub_form(&state, &auth, outcome, Target::Person(id), "lift", &f, "restriction-lifted").await
}

/// Erasure of the identity on the person's request (GDPR art. 17).
pub async fn erase(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<percorsi_service::rights::ErasureForm>,
) -> Response {
    let outcome = state.svc.erase_identity(&auth.actor, id, &f).await.map(|_| id);
    after_sub_form(&state, &auth, outcome, Target::Person(id), "erase", &f, "identity-erased").await
}

pub async fn open_episode(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<EpisodeForm>,
) -> Response {
    let outcome = state.svc.open_episode(&auth.actor, id, &f).await.map(|_| id);
    after_sub_form(&state, &auth, outcome, Target::Person(id), "episode", &f, "episode-opened").await
}

pub async fn close_episode(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<CloseEpisodeForm>,
) -> Response {
    let outcome = state.svc.close_episode(&auth.actor, id, &f).await;
    after_sub_form(&state, &auth, outcome, Target::Episode(id), "close", &f, "episode-closed").await
}

pub async fn update_episode(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<EpisodeUpdateForm>,
) -> Response {
    let outcome = state.svc.update_episode(&auth.actor, id, &f).await;
    after_sub_form(&state, &auth, outcome, Target::Episode(id), "update", &f, "episode-updated").await
}

pub async fn add_member(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<TeamMemberForm>,
) -> Response {
    let outcome = state.svc.add_team_member(&auth.actor, id, &f).await;
    after_sub_form(&state, &auth, outcome, Target::Episode(id), "team", &f, "member-added").await
}

pub async fn remove_member(State(state): State<AppState>, auth: Auth, Path((id, mid)): Path<(i64, i64)>) -> Response {
    match state.svc.remove_team_member(&auth.actor, id, mid).await {
        Ok(person_id) => done(person_id, "member-removed"),
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn add_consent(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<ConsentForm>,
) -> Response {
    let outcome = state.svc.record_consent(&auth.actor, id, &f).await.map(|_| id);
    after_sub_form(&state, &auth, outcome, Target::Person(id), "consent", &f, "consent-recorded").await
}

pub async fn revoke_consent(State(state): State<AppState>, auth: Auth, Path((id, cid)): Path<(i64, i64)>) -> Response {
    match state.svc.revoke_consent(&auth.actor, id, cid).await {
        Ok(()) => done(id, "consent-revoked"),
        Err(e) => fail(&state, auth.lang, e),
    }
}

fn option(value: i64, label: String) -> std::collections::HashMap<&'static str, String> {
    std::collections::HashMap::from([("value", value.to_string()), ("label", label)])
}

fn manager_options(
    managers: &[percorsi_service::store::MembershipRow],
) -> Vec<std::collections::HashMap<&'static str, String>> {
    managers.iter().map(|m| option(m.user_id, m.display_name.clone())).collect()
}
