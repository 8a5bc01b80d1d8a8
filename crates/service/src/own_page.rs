//! The person's own page (role `persona`). The organisation that has the person in charge
//! hands over a one-time invitation code; with it the person chooses a username and a
//! password and then sees, in plain words: their project (objectives, commitments, reviews),
//! what is coming up, their consents (and revokes one, at once, with the organisations
//! concerned notified), who consulted their record, and their own self-assessment, which their
//! case manager sees next to the team's assessment. Nothing else: no episode, substance,
//! relapse or team assessment, which stay the professionals'.
//!
//! The account is the grant: it is linked to exactly one person, and every read here is by that
//! person's id, never through the organisations' visibility rule.

use crate::audit::record;
use crate::auth::hash_password_off_thread;
use crate::pathway::in_charge;
use crate::policy::{self, Permission};
use crate::rights::{accesses, Access};
use crate::{Actor, Result, Service, ServiceError};
use chrono::{Duration, NaiveDate};
use percorsi_domain::codes::Role;
use percorsi_domain::instrument::{AssessmentKind, SectionScore};
use percorsi_domain::project::{Plan, Review};
use percorsi_domain::user::{check_password, check_username};
use percorsi_domain::validation::Checker;
use percorsi_domain::Invalid;
use percorsi_store::ConsentRow;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How long an invitation can be used.
pub const INVITATION_DAYS: i64 = 14;

/// An invitation as the case manager hands it over: the code is shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    /// Twelve letters and digits in three groups, e.g. `K7QM-2XWP-9DHT`.
    pub code: String,
    pub expires_on: NaiveDate,
}

/// What the person types to accept an invitation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AcceptForm {
    pub invitation_code: String,
    pub username: String,
    #[serde(skip_serializing)]
    pub password: String,
}

/// The person's page.
#[derive(Debug, Clone, Serialize)]
pub struct OwnPage {
    pub code: String,
    pub projects: Vec<OwnProject>,
    /// Dates coming up: reviews and objectives due, soonest first.
    pub upcoming: Vec<Upcoming>,
    pub consents: Vec<ConsentRow>,
    pub accesses: Vec<Access>,
    pub self_assessments: Vec<SelfAssessment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OwnProject {
    pub id: i64,
    pub organisation_name: String,
    pub case_manager_name: String,
    pub version: i64,
    pub plan: Plan,
    pub reviews: Vec<Review>,
    /// Names of the organisations responsible for objectives, by id.
    pub organisations: BTreeMap<i64, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Upcoming {
    pub date: NaiveDate,
    /// `review` or `objective`.
    pub kind: &'static str,
    pub what: String,
}

/// A self-assessment, as the person and their case manager see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SelfAssessment {
    pub assessed_on: NaiveDate,
    pub scores: Vec<SectionScore>,
}

fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(format!("percorsi invitation|{code}").as_bytes()))
}

/// The code without spaces or dashes, in capitals: what the person types is forgiven its form.
fn normalise(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// Twelve characters from an alphabet without look-alikes (no 0/O, 1/I/L): about 60 bits.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

impl Service {
    /// The person of a `persona` account, or 403 for anyone else.
    async fn own_person(&self, actor: &Actor) -> Result<i64> {
        policy::require(actor, Permission::OwnPage)?;
        let mut tx = self.store().read().await?;
        let person = tx.person_of_account(actor.user_id).await?;
        tx.commit().await?;
        person.ok_or(ServiceError::Forbidden)
    }

    /// Invites the person to their own page (roles that handle identity, in the organisation
    /// in charge). A new invitation replaces an unused one; a person with an account already
    /// gets 409.
    pub async fn invite_person(&self, actor: &Actor, person_id: i64) -> Result<Invitation> {
        policy::require(actor, Permission::ViewIdentity)?;
        let mut tx = self.store().write().await?;
        in_charge(&mut tx, actor, person_id).await?;
        if tx.account_of_person(person_id).await?.is_some() {
            return Err(ServiceError::Conflict("err-person-has-account"));
        }
        let code = new_code();
        let expires_on = crate::today() + Duration::days(INVITATION_DAYS);
        let expires_at = format!("{expires_on}T23:59:59Z");
        let id = tx
            .insert_invitation(
                person_id,
                actor.organisation_id,
                actor.user_id,
                &code_hash(&normalise(&code)),
                &expires_at,
            )
            .await?;
        record(
            &mut tx,
            actor,
            "create",
            "invitation",
            Some(id),
            "invito della persona alla propria pagina",
            Some(format!("person {person_id}")),
        )
        .await?;
        tx.commit().await?;
        Ok(Invitation { code, expires_on })
    }

    /// Accepts an invitation: the account is created in the inviting organisation with the
    /// role `persona` and linked to the person. A wrong, used or expired code says only that it
    /// does not work (nothing about whom it was for).
    pub async fn accept_invitation(&self, form: &AcceptForm) -> Result<i64> {
        let mut c = Checker::new();
        let code = normalise(&form.invitation_code);
        if code.len() != 12 {
            c.fail("invitation_code", "err-invitation-invalid");
        }
        let username = check_username(&mut c, &form.username);
        check_password(&mut c, &form.password, &[&form.username]);
        c.finish(|| ())?;
        let hash = hash_password_off_thread(&form.password).await?;
        let mut tx = self.store().write().await?;
        let now = crate::audit::now();
        let invitation = tx
            .invitation_by_hash(&code_hash(&code))
            .await?
            .filter(|i| i.used_at.is_none() && i.expires_at > now)
            .ok_or_else(|| Invalid::one("invitation_code", "err-invitation-invalid"))?;
        if tx.account_of_person(invitation.person_id).await?.is_some() {
            return Err(Invalid::one("invitation_code", "err-invitation-invalid").into());
        }
        tx.use_invitation(invitation.id)
            .await
            .map_err(|_| Invalid::one("invitation_code", "err-invitation-invalid"))?;
        // A generic display name: administrators list accounts, and must not learn from it who
        // is in care where.
        let user_id = match tx.insert_user(&username, "Persona", &hash).await {
            Err(percorsi_store::StoreError::Duplicate) => return Err(Invalid::one("username", "err-duplicate").into()),
            other => other?,
        };
        tx.insert_membership(user_id, invitation.organisation_id, Role::Persona.code()).await?;
        tx.insert_person_account(user_id, invitation.person_id, invitation.organisation_id).await?;
        let mut entry = crate::audit::system_entry(
            &username,
            Some(user_id),
            "create",
            "person_account",
            Some(invitation.person_id.to_string()),
            "la persona ha accettato l'invito alla propria pagina",
        );
        entry.person_id = Some(invitation.person_id);
        tx.append_audit(&entry).await?;
        tx.commit().await?;
        Ok(user_id)
    }

    /// Switches the person's own access off (or on again), for the organisation in charge:
    /// a lost phone, a request of the person.
    pub async fn set_person_access(&self, actor: &Actor, person_id: i64, active: bool) -> Result<()> {
        policy::require(actor, Permission::ViewIdentity)?;
        let mut tx = self.store().write().await?;
        in_charge(&mut tx, actor, person_id).await?;
        let (user_id, _) = tx.account_of_person(person_id).await?.ok_or(ServiceError::NotFound)?;
        tx.set_user_active(user_id, active).await?;
        if !active {
            tx.end_access_of_user(user_id).await?;
        }
        let what = if active { "accesso della persona riattivato" } else { "accesso della persona disattivato" };
        record(&mut tx, actor, "update", "person_account", Some(person_id), what, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the person has an account, and whether it is active (for the person page).
    pub async fn person_account(&self, actor: &Actor, person_id: i64) -> Result<Option<bool>> {
        let mut tx = self.store().read().await?;
        in_charge(&mut tx, actor, person_id).await?;
        let account = tx.account_of_person(person_id).await?;
        tx.commit().await?;
        Ok(account.map(|(_, active)| active))
    }

    /// The person's page. Reading it is on the trail like any other read of the record.
    pub async fn own_page(&self, actor: &Actor) -> Result<OwnPage> {
        let person_id = self.own_person(actor).await?;
        let mut tx = self.store().read().await?;
        let person = tx.person(person_id).await?.ok_or(ServiceError::NotFound)?;
        let orgs: BTreeMap<i64, String> = tx.organisations().await?.into_iter().map(|o| (o.id, o.name)).collect();
        let mut projects = Vec::new();
        let today = crate::today();
        let mut upcoming = Vec::new();
        for p in tx.projects_of(person_id).await?.into_iter().filter(|p| p.end_date >= today) {
            let versions = tx.project_versions(p.id).await?;
            let current = versions.iter().find(|v| v.version == p.current_version).ok_or_else(|| {
                ServiceError::Broken(format!("project {} has no version {}", p.id, p.current_version))
            })?;
            let plan: Plan = serde_json::from_str(&current.content)
                .map_err(|e| ServiceError::Broken(format!("stored project: {e}")))?;
            let mut reviews = Vec::new();
            for r in tx.project_reviews(p.id).await? {
                reviews.push(
                    serde_json::from_str::<Review>(&r.content)
                        .map_err(|e| ServiceError::Broken(format!("stored review: {e}")))?,
                );
            }
            upcoming.push(Upcoming { date: p.next_review, kind: "review", what: p.organisation_name.clone() });
            for o in &plan.objectives {
                if let Some(due) = o.due.filter(|d| *d >= today) {
                    upcoming.push(Upcoming { date: due, kind: "objective", what: o.title.clone() });
                }
            }
            projects.push(OwnProject {
                id: p.id,
                organisation_name: p.organisation_name,
                case_manager_name: p.case_manager_name,
                version: p.current_version,
                plan,
                reviews,
                organisations: orgs.clone(),
            });
        }
        upcoming.sort_by_key(|u| u.date);
        let consents = tx.consents_of(person_id).await?;
        let accesses = accesses(&mut tx, person_id).await?;
        let rows = tx.self_assessments(person_id).await?;
        tx.commit().await?;
        self.record_person_read(actor, person_id, "own_page", None, "la persona consulta la propria pagina").await?;
        Ok(OwnPage {
            code: person.code,
            projects,
            upcoming,
            consents,
            accesses,
            self_assessments: self_assessment_views(rows)?,
        })
    }

    /// The person revokes one of their consents: at once, and the organisation it named and
    /// those that have the person in charge are notified.
    pub async fn revoke_own_consent(&self, actor: &Actor, consent_id: i64) -> Result<()> {
        let person_id = self.own_person(actor).await?;
        let mut tx = self.store().write().await?;
        let consent =
            tx.consents_of(person_id).await?.into_iter().find(|c| c.id == consent_id).ok_or(ServiceError::NotFound)?;
        if consent.revoked_at.is_some() {
            return Err(ServiceError::Conflict("err-consent-already-revoked"));
        }
        tx.revoke_consent(person_id, consent_id, actor.user_id).await.map_err(|e| match e {
            percorsi_store::StoreError::NotFound => ServiceError::Conflict("err-consent-already-revoked"),
            other => other.into(),
        })?;
        let mut told = vec![consent.organisation_id];
        let today = crate::today().format("%Y-%m-%d").to_string();
        told.extend(tx.organisations_in_charge(person_id, &today).await?);
        told.sort_unstable();
        told.dedup();
        let args =
            serde_json::json!({ "organisation": consent.organisation_name, "purpose": consent.purpose }).to_string();
        for org in told {
            tx.notify(org, "notif-consent-revoked", &args, &format!("/persone/{person_id}")).await?;
        }
        record(
            &mut tx,
            actor,
            "update",
            "consent",
            Some(consent_id),
            "revoca del consenso da parte della persona",
            Some(format!("person {person_id}")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The person's self-assessment on the multidimensional assessment's items.
    pub async fn self_assess(&self, actor: &Actor, raw: &BTreeMap<String, String>) -> Result<i64> {
        let person_id = self.own_person(actor).await?;
        let mut tx = self.store().write().await?;
        let (instrument_id, instrument) =
            crate::instruments::latest(&mut tx, AssessmentKind::ValutazioneMultidimensionale).await?;
        let answers = instrument.parse_answers(raw, |_| true)?;
        if answers.is_empty() {
            let first = instrument.sections.first().and_then(|s| s.items.first()).map(|i| i.code.clone());
            return Err(match first {
                Some(_) => Invalid::one("answers", "err-self-assessment-empty").into(),
                None => ServiceError::Conflict("err-no-instrument"),
            });
        }
        let scores = instrument.score(&answers);
        let organisation = tx.account_organisation(actor.user_id).await?.ok_or(ServiceError::Forbidden)?;
        let id = tx
            .insert_self_assessment(
                person_id,
                organisation,
                instrument_id,
                crate::today(),
                &crate::to_json(&answers)?,
                &crate::to_json(&scores)?,
            )
            .await?;
        record(&mut tx, actor, "create", "self_assessment", Some(id), "autovalutazione della persona", None).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The person's self-assessments, for those who see the person's assessments.
    pub async fn self_assessments_of(&self, actor: &Actor, person_id: i64) -> Result<Vec<SelfAssessment>> {
        let mut tx = self.store().read().await?;
        let access = policy::person_access(&mut tx, actor, person_id).await?;
        let rows = tx.self_assessments(person_id).await?;
        tx.commit().await?;
        let visible = rows
            .into_iter()
            .filter(|r| access.shows_row_of(r.organisation_id, percorsi_domain::consent::DataCategory::Assessments))
            .collect();
        self_assessment_views(visible)
    }
}

fn self_assessment_views(rows: Vec<percorsi_store::SelfAssessmentRow>) -> Result<Vec<SelfAssessment>> {
    rows.into_iter()
        .map(|r| {
            Ok(SelfAssessment {
                assessed_on: r.assessed_on,
                scores: serde_json::from_str(&r.scores)
                    .map_err(|e| ServiceError::Broken(format!("stored scores: {e}")))?,
            })
        })
        .collect()
}
