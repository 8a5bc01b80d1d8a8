//! Operator notes on a person's pathway. Who reads a note is the store's rule (author,
//! organisation, or organisation and care team); here: who may write, and the audit.

use crate::audit::record;
use crate::policy::{self, Permission};
use crate::{today, Actor, Result, Service, ServiceError};
use percorsi_domain::note::NoteForm;
use percorsi_store::NoteRow;

impl Service {
    /// Writes a note for the actor's organisation about a person it sees.
    pub async fn add_note(&self, actor: &Actor, person_id: i64, form: &NoteForm) -> Result<i64> {
        policy::require(actor, Permission::Notes)?;
        let n = form.validate(today())?;
        let mut tx = self.store().write().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        let id = tx.insert_note(person_id, actor.organisation_id, actor.user_id, &n).await?;
        record(
            &mut tx,
            actor,
            "create",
            "note",
            Some(id),
            "nota",
            Some(format!("person {person_id}, {}", n.visibility)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A person's notes the actor may read, newest first; `q` narrows to those containing it.
    pub async fn person_notes(&self, actor: &Actor, person_id: i64, q: Option<&str>) -> Result<Vec<NoteRow>> {
        policy::require(actor, Permission::Notes)?;
        let q = q.map(str::trim).filter(|s| !s.is_empty());
        let mut tx = self.store().read().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        let list = tx.notes_of_person(&actor.scope(), person_id, q).await?;
        tx.commit().await?;
        self.record_person_read(actor, person_id, "note_list", None, "note della persona").await?;
        Ok(list)
    }

    /// Notes containing `q` across the people the actor sees (the 100 newest).
    pub async fn search_notes(&self, actor: &Actor, q: Option<&str>) -> Result<Vec<NoteRow>> {
        policy::require(actor, Permission::Notes)?;
        let q = q.map(str::trim).filter(|s| !s.is_empty());
        let mut tx = self.store().read().await?;
        let list = tx.search_notes(&actor.scope(), q, 100).await?;
        tx.commit().await?;
        if !list.is_empty() {
            let people = list.iter().map(|n| n.person_id).collect::<std::collections::BTreeSet<_>>().len();
            self.record_read(
                actor,
                "note_list",
                None,
                "ricerca nelle note",
                Some(format!("{} note, {people} persone", list.len())),
            )
            .await?;
        }
        Ok(list)
    }
}
