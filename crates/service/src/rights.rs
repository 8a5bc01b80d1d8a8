//! The person's rights over their data (GDPR art. 15–18).
//! - Access and portability: the organisation in charge produces everything Percorsi holds
//!   about the person that the network lets it see, with who accessed the record and when, as a
//!   printable page and as JSON.
//! - Erasure: on the person's request the organisation in charge removes what identifies them
//!   (identity, contacts, every code derived from them); care may go on anonymously (DPR
//!   309/1990 art. 120) and the pseudonymous health record stays, as the law requires it to be
//!   kept (art. 17(3)(b) and (c)).
//! - Restriction (art. 18): while the person contests the data, opposes their erasure or needs
//!   them kept for a claim, the organisation in charge restricts processing: the database then
//!   refuses every change to the person's rows (migration 0019), retention leaves them alone and
//!   everyday lists leave them out; the record is still read, and reported. Lifting it is
//!   recorded the same way.
//! - Rectification: the organisation in charge corrects the identity fields that define the
//!   pseudonymous code; every record stays linked (links are by person, not by code), the code
//!   is derived again and the old one stays the person's alias, so "già noto" still recognises
//!   them under the data first registered.

use crate::audit::record;
use crate::pathway::{in_charge, random_code};
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use hmac::{Hmac, Mac};
use percorsi_domain::person::IdentityCorrectionForm;
use percorsi_domain::pseudonym;
use percorsi_store::{AuditFilter, PlacementRow, Rectified, ReferralRow};
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

/// Everything about one person, for the person (GDPR art. 15 and 20).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonExport {
    pub produced_at: String,
    pub produced_by_organisation: String,
    pub pathway: crate::pathway::Pathway,
    pub interventions: Vec<crate::interventions::InterventionDetail>,
    /// Every version of every project.
    pub projects: Vec<crate::projects::ProjectView>,
    pub referrals: Vec<ReferralRow>,
    pub placements: Vec<PlacementRow>,
    pub assessments: Vec<crate::coordination::AssessmentView>,
    /// Signed documents, each with its file.
    pub documents: Vec<ExportedDocument>,
    /// Who accessed the record and when: organisation and role, never a colleague's name.
    pub accesses: Vec<Access>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportedDocument {
    #[serde(flatten)]
    pub document: percorsi_store::DocumentRow,
    /// The file, base64-encoded (its SHA-256 is `sha256`).
    pub content_base64: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Access {
    pub at: String,
    pub organisation: Option<String>,
    pub role: Option<String>,
    pub action: String,
    pub reason: Option<String>,
}

/// Accesses listed in an export, newest first.
const MAX_ACCESSES: i64 = 10_000;

/// Why a person's identity is erased on their request.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ErasureForm {
    /// The person's request (e.g. "richiesta scritta del 12/03, protocollo 456"); no
    /// identifying data.
    pub request: String,
}

/// Why processing is restricted, or why the restriction is lifted.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RestrictionForm {
    /// The person's request or the reason it ends (e.g. "contesta l'esattezza dei dati, richiesta
    /// del 12/03"); no identifying data. (`restriction_reason` in the page's form, which also
    /// holds the rectification's reason.)
    #[serde(alias = "restriction_reason")]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Erasure {
    pub person_id: i64,
    /// The new, random code: linkable to nothing.
    pub code: String,
}

/// Who accessed a person's record and when, newest first: organisation and role, never a
/// colleague's name.
pub(crate) async fn accesses<M: percorsi_store::Mode>(
    tx: &mut percorsi_store::Tx<M>,
    person_id: i64,
) -> Result<Vec<Access>> {
    let orgs: std::collections::HashMap<i64, String> =
        tx.organisations().await?.into_iter().map(|o| (o.id, o.name)).collect();
    let filter = AuditFilter { person_id: Some(person_id), ..Default::default() };
    let rows = tx.audit_search(&filter, None, MAX_ACCESSES).await?;
    Ok(rows
        .into_iter()
        .map(|r| Access {
            at: r.entry.at,
            organisation: r.entry.organisation_id.and_then(|o| orgs.get(&o).cloned()),
            role: r.entry.role,
            action: r.entry.action,
            reason: r.entry.reason,
        })
        .collect())
}

impl Service {
    /// Erases a person's identity on their request (organisation in charge, roles that see
    /// identity). Refused while another organisation has them in care: it still needs to know
    /// who they are, and must close its episode or agree first.
    pub async fn erase_identity(&self, actor: &Actor, person_id: i64, form: &ErasureForm) -> Result<Erasure> {
        policy::require(actor, Permission::ViewIdentity)?;
        let mut tx = self.store().write().await?;
        in_charge(&mut tx, actor, person_id).await?;
        let mut c = percorsi_domain::validation::Checker::new();
        let reason = c.required_text("request", &form.request, 500);
        let reason = c.finish(|| reason)?;
        let person = tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        if person.anonymous {
            return Err(ServiceError::Conflict("err-erase-anonymous"));
        }
        if tx.in_care_elsewhere(person_id, actor.organisation_id).await? {
            return Err(ServiceError::Conflict("err-erase-in-care-elsewhere"));
        }
        let code = random_code();
        let files = tx.anonymise_person(person_id, &code).await?;
        // Not the old code: derived from the identity, it would let whoever holds both find
        // the record again through this entry.
        let detail = format!("nuovo codice {code}; motivo: {reason}");
        record(
            &mut tx,
            actor,
            "erase",
            "person",
            Some(person_id),
            "cancellazione dei dati identificativi su richiesta (art. 17 GDPR)",
            Some(detail),
        )
        .await?;
        tx.commit().await?;
        self.forget_files(files).await?;
        Ok(Erasure { person_id, code })
    }

    /// Restricts the processing of a person's data on their request (organisation in charge,
    /// roles that see identity). 409 when it is already restricted.
    pub async fn restrict_processing(&self, actor: &Actor, person_id: i64, form: &RestrictionForm) -> Result<()> {
        self.change_restriction(actor, person_id, form, true).await
    }

    /// Lifts a restriction (organisation in charge, roles that see identity). 409 when there is
    /// none in force.
    pub async fn lift_restriction(&self, actor: &Actor, person_id: i64, form: &RestrictionForm) -> Result<()> {
        self.change_restriction(actor, person_id, form, false).await
    }

    async fn change_restriction(&self, actor: &Actor, person_id: i64, form: &RestrictionForm, on: bool) -> Result<()> {
        policy::require(actor, Permission::ViewIdentity)?;
        let mut tx = self.store().write().await?;
        in_charge(&mut tx, actor, person_id).await?;
        let mut c = percorsi_domain::validation::Checker::new();
        let reason = c.required_text("reason", &form.reason, 500);
        let reason = c.finish(|| reason)?;
        let (action, what) = if on {
            match tx.insert_restriction(person_id, actor.organisation_id, actor.user_id, &reason).await {
                Err(percorsi_store::StoreError::Duplicate) => {
                    return Err(ServiceError::Conflict("err-already-restricted"))
                }
                other => other?,
            }
            ("restrict", "limitazione del trattamento (art. 18 GDPR)")
        } else {
            match tx.delete_restriction(person_id).await {
                Err(percorsi_store::StoreError::NotFound) => return Err(ServiceError::Conflict("err-not-restricted")),
                other => other?,
            }
            ("lift_restriction", "revoca della limitazione del trattamento (art. 18 GDPR)")
        };
        record(&mut tx, actor, action, "person", Some(person_id), what, Some(format!("motivo: {reason}"))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Produces the person's copy of their data (organisation in charge, roles that see
    /// identity). Every part is read through the same policy as the person's page, so the copy
    /// holds what the network lets this organisation see; the reads and the export itself are
    /// on the audit trail.
    pub async fn person_export(&self, actor: &Actor, person_id: i64) -> Result<PersonExport> {
        policy::require(actor, Permission::ViewIdentity)?;
        let (organisations, accesses) = {
            let mut tx = self.store().read().await?;
            in_charge(&mut tx, actor, person_id).await?;
            let orgs: std::collections::HashMap<i64, String> =
                tx.organisations().await?.into_iter().map(|o| (o.id, o.name)).collect();
            let accesses = accesses(&mut tx, person_id).await?;
            tx.commit().await?;
            (orgs, accesses)
        };
        let pathway = self.pathway(actor, person_id).await?;
        let mut interventions = Vec::new();
        for i in self.interventions_of_person(actor, person_id).await? {
            interventions.push(self.intervention(actor, i.id).await?);
        }
        let mut projects = Vec::new();
        for p in self.projects_of_person(actor, person_id).await? {
            let current = self.project(actor, p.id, None).await?;
            for v in current.versions.iter().filter(|v| v.version != current.version) {
                projects.push(self.project(actor, p.id, Some(v.version)).await?);
            }
            projects.push(current);
        }
        let mut documents = Vec::new();
        for d in self.person_documents(actor, person_id).await?.documents {
            let (document, bytes) = self.document_file(actor, d.id).await?;
            use base64::Engine as _;
            documents.push(ExportedDocument {
                document,
                content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            });
        }
        let export = PersonExport {
            produced_at: crate::audit::now(),
            produced_by_organisation: organisations.get(&actor.organisation_id).cloned().unwrap_or_default(),
            pathway,
            interventions,
            projects,
            referrals: self.referrals_of_person(actor, person_id).await?,
            placements: self.placements_of_person(actor, person_id).await?,
            assessments: self.person_assessments(actor, person_id).await?,
            documents,
            accesses,
        };
        let mut tx = self.store().write().await?;
        let reason = "copia dei dati per l'interessato (art. 15 e 20 GDPR)";
        record(&mut tx, actor, "export", "person", Some(person_id), reason, None).await?;
        tx.commit().await?;
        Ok(export)
    }

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
        in_charge(&mut tx, actor, person_id).await?;
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
        // Each identity field as it was and as it will be.
        let fields = [
            ("surname", before.surname.clone(), c.basis.surname.clone()),
            ("name", before.name.clone(), c.basis.name.clone()),
            ("birth_date", before.birth_date.to_string(), c.basis.birth_date.to_string()),
            ("sex", person.sex.clone().unwrap_or_default(), sex.to_string()),
            ("fiscal_code", before.fiscal_code.clone().unwrap_or_default(), c.fiscal_code.clone().unwrap_or_default()),
        ];
        let changed: Vec<&(&'static str, String, String)> = fields.iter().filter(|(_, was, is)| was != is).collect();
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
        let hashed: Vec<String> =
            changed.iter().map(|(f, was, is)| format!("{f} {}→{}", digest(f, was), digest(f, is))).collect();
        let detail = format!("codice {} → {}; {}; motivo: {}", person.code, new_code, hashed.join(", "), c.reason);
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
        let changed = changed.iter().map(|(f, _, _)| *f).collect();
        Ok(Rectification { person_id, code: new_code, previous_code: person.code, changed })
    }
}
