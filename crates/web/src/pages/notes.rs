//! Operator notes: written from the pathway page, searched across the people one follows or
//! within one person's pathway.

use super::{base, fail};
use crate::session::Auth;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use minijinja::context;
use percorsi_domain::note::NoteForm;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NoteSearch {
    pub q: Option<String>,
    /// Only this person's notes.
    pub persona: Option<i64>,
}

pub async fn search(State(state): State<AppState>, auth: Auth, Query(s): Query<NoteSearch>) -> Response {
    let q = s.q.as_deref();
    let found = match s.persona {
        Some(person) => state.svc.person_notes(&auth.actor, person, q).await,
        None => state.svc.search_notes(&auth.actor, q).await,
    };
    match found {
        Ok(notes) => {
            let ctx = context! { notes => notes, q => s.q, persona => s.persona, ..base(&state, auth.lang, Some(&auth.session), "notes-title", None) };
            state.ui.render(StatusCode::OK, "notes.html", ctx)
        }
        Err(e) => fail(&state, auth.lang, e),
    }
}

pub async fn add(
    State(state): State<AppState>,
    auth: Auth,
    Path(person): Path<i64>,
    Form(f): Form<NoteForm>,
) -> Response {
    let outcome = state.svc.add_note(&auth.actor, person, &f).await.map(|_| person);
    super::persons::after_person_form(&state, &auth, outcome, person, "note", &f, "note-saved").await
}
