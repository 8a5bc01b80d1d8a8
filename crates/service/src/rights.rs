//! The person's rights over their data (GDPR art. 15–18). Rectification: the organisation in
//! charge corrects the identity fields that define the pseudonymous code; every record stays
//! linked (links are by person, not by code), the code is derived again and the old one stays
//! the person's alias, so "già noto" still recognises them under the data first registered.

use crate::audit::record;
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use hmac::{Hmac, Mac};
use percorsi_domain::person::IdentityCorrectionForm;
use percorsi_domain::pseudonym;
use percorsi_store::Rectified;
use serde::Serialize;
use sha2::Sha256;

/// What a rectification changed, as the page and the API report it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rectification {
    pub person_id: i64,
    pub code: String,
    /// The code before, now an alias of the same person (equal to `code` when the fields the
    /// code depends on did not change, e.g. only the fiscal code).
    pub previous_code: String,
    /// The fields that changed (`surname`, `name`, `birth_date`, `sex`, `fiscal_code`).
    pub changed: Vec<&'static str>,
}

impl Service {
    /// Corrects a person's identity (roles that see identity, in an organisation in charge).
    pub async fn rectify_identity(
        &self,
        actor: &Actor,
        person_id: i64,
        form: &IdentityCorrectionForm,
    ) -> Result<Rectification> {
        policy::require(actor, Permission::ViewIdentity)?;
        let mut tx = self.store().write().await?;
        // Who may rectify is decided before the input is judged: nobody else learns anything.
        if !policy::person_access(&mut tx, actor, person_id).await?.in_charge() {
            return Err(ServiceError::Forbidden);
        }
        let c = form.validate()?;
        let new_code =
            pseudonym::code(&self.pseudonym_key, &c.basis.surname, &c.basis.name, c.basis.birth_date, c.basis.sex);
        let scope = actor.scope();
        let person = tx.person_visible(&scope, person_id).await?.ok_or(ServiceError::NotFound)?;
        let Some(before) = tx.identity_visible(&scope, person_id).await? else {
            // An anonymous person has no identity to correct: their code is all there is.
            return Err(ServiceError::Conflict("err-rectify-anonymous"));
        };
        match tx.person_id_by_code(&new_code).await? {
            Some(other) if other != person_id => return Err(ServiceError::Conflict("err-rectify-code-taken")),
            _ => {}
        }
        let sex = c.basis.sex.code();
        let mut changed = Vec::new();
        for (field, differs) in [
            ("surname", before.surname != c.basis.surname),
            ("name", before.name != c.basis.name),
            ("birth_date", before.birth_date != c.basis.birth_date),
            ("sex", person.sex.as_deref() != Some(sex)),
            ("fiscal_code", before.fiscal_code != c.fiscal_code),
        ] {
            if differs {
                changed.push(field);
            }
        }
        if changed.is_empty() {
            return Err(percorsi_domain::Invalid::one("surname", "err-rectify-nothing").into());
        }
        let rectified = Rectified {
            old_code: &person.code,
            new_code: &new_code,
            surname: &c.basis.surname,
            name: &c.basis.name,
            fiscal_code: c.fiscal_code.as_deref(),
            birth_date: c.basis.birth_date,
            sex,
        };
        tx.rectify_identity(person_id, &rectified).await?;
        // The trail says what changed and why, never the values: each changed field only as a
        // keyed hash of before and after, which proves a value to whoever holds it and reveals
        // it to no one else.
        let digest = |field: &str, value: &str| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.pseudonym_key).expect("HMAC takes any key");
            mac.update(format!("percorsi audit identity|{field}|{value}").as_bytes());
            hex::encode(&mac.finalize().into_bytes()[..8])
        };
        let value = |field: &str, after: bool| -> String {
            match (field, after) {
                ("surname", false) => before.surname.clone(),
                ("surname", true) => c.basis.surname.clone(),
                ("name", false) => before.name.clone(),
                ("name", true) => c.basis.name.clone(),
                ("birth_date", false) => before.birth_date.to_string(),
                ("birth_date", true) => c.basis.birth_date.to_string(),
                ("sex", false) => person.sex.clone().unwrap_or_default(),
                ("sex", true) => sex.to_string(),
                ("fiscal_code", false) => before.fiscal_code.clone().unwrap_or_default(),
                _ => c.fiscal_code.clone().unwrap_or_default(),
            }
        };
        let fields: Vec<String> = changed
            .iter()
            .map(|f| format!("{f} {}→{}", digest(f, &value(f, false)), digest(f, &value(f, true))))
            .collect();
        let detail = format!("codice {} → {}; {}; motivo: {}", person.code, new_code, fields.join(", "), c.reason);
        record(
            &mut tx,
            actor,
            "rectify",
            "person",
            Some(person_id),
            "rettifica dell'identità (art. 16 GDPR)",
            Some(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(Rectification { person_id, code: new_code, previous_code: person.code, changed })
    }
}
