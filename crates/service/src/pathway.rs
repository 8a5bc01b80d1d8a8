//! A person's pathway: registration, care episodes, care team, consents, and the pathway page.

use crate::audit::record;
use crate::policy::{self, allows, Permission};
use crate::{today, Actor, Result, Service, ServiceError};
use chrono::NaiveDate;
use percorsi_domain::access::{AccessForm, NewAccess};
use percorsi_domain::consent::ConsentForm;
use percorsi_domain::consent::DataCategory;
use percorsi_domain::episode::{CloseEpisodeForm, EpisodeForm, EpisodeUpdateForm, TeamMemberForm};
use percorsi_domain::person::{NewPerson, PersonForm, PersonPatch, PersonUpdateForm};
use percorsi_domain::{pseudonym, Invalid};
use percorsi_store::{
    AccessRow, ConsentRow, EpisodeRow, IdentityRow, MembershipRow, Mode, PersonRow, PersonSummary, RestrictionRow,
    TeamMemberRow, Tx,
};
use rand::Rng;
use serde::Serialize;

/// What a batch registration did with one entry: `created`, `taken_in_charge` (known
/// elsewhere in the network) or `unchanged` (already in charge here).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchOutcome {
    pub person_id: i64,
    pub code: String,
    pub outcome: &'static str,
}

/// What happened to a registration.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Registration {
    Created {
        person_id: i64,
        code: String,
    },
    /// The code exists and this organisation already sees the person.
    AlreadyFollowed {
        person_id: i64,
        code: String,
    },
    /// The code exists elsewhere in the network: "già noto". Nothing of that record is revealed;
    /// the organisation may take the person in charge by confirming the same identity data.
    KnownElsewhere {
        code: String,
    },
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEvent {
    pub date: NaiveDate,
    /// Fluent id of the event label, e.g. `timeline-episode-opened`.
    pub kind: &'static str,
    pub organisation: String,
    /// Free text (a name, a function) shown as is.
    pub detail: Option<String>,
    /// A Fluent id to translate instead (a code's label).
    pub detail_key: Option<String>,
}

/// Everything the pathway page shows, already filtered for the actor.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Pathway {
    pub person: PersonRow,
    /// `None` for anonymous persons and for roles that see no identity.
    pub identity: Option<IdentityRow>,
    pub identity_hidden: bool,
    pub episodes: Vec<EpisodeRow>,
    pub team: Vec<TeamMemberRow>,
    pub consents: Vec<ConsentRow>,
    pub timeline: Vec<TimelineEvent>,
    /// The actor's own open episode with the person, if they can manage it.
    pub manageable_episode: Option<i64>,
    pub can_manage_consents: bool,
    /// In force when the person asked to restrict processing (GDPR art. 18): the record can be
    /// read but not changed.
    pub restriction: Option<RestrictionRow>,
}

impl Service {
    fn code_for(&self, p: &NewPerson) -> String {
        match &p.code_basis {
            Some(b) => pseudonym::code(&self.pseudonym_key, &b.surname, &b.name, b.birth_date, b.sex),
            None => random_code(),
        }
    }

    /// Registers a person and opens the first care episode in the actor's organisation, in one
    /// transaction: an organisation always sees the people it registers.
    pub async fn register_person(
        &self,
        actor: &Actor,
        person: &PersonForm,
        episode: &EpisodeForm,
    ) -> Result<Registration> {
        policy::require(actor, Permission::RegisterPerson)?;
        let (p, e) = both(person.validate(), episode.validate(today()))?;
        let code = self.code_for(&p);
        let mut tx = self.store().write().await?;
        check_case_manager(&mut tx, actor, e.case_manager_id).await?;
        if let Some(existing) = tx.person_id_by_code(&code).await? {
            let outcome = already_known(&mut tx, actor, existing, &code).await?;
            tx.commit().await?;
            return Ok(outcome);
        }
        let person_id = insert_new_person(&mut tx, actor, &p, &code, "registrazione").await?;
        let episode_id = tx.insert_episode(person_id, actor.organisation_id, &e).await?;
        record(&mut tx, actor, "create", "care_episode", Some(episode_id), "presa in carico", None).await?;
        tx.commit().await?;
        Ok(Registration::Created { person_id, code })
    }

    /// Registers or takes in charge many people at once, all or nothing (the FHIR bundle
    /// import): each entry carries the identity that derives the code, so a person known
    /// elsewhere is taken in charge as [`Self::take_in_charge`] would, and an entry whose person
    /// already has an open episode here changes nothing (importing twice adds nothing). The
    /// first entry that fails names its index and rolls everything back.
    pub async fn register_batch(
        &self,
        actor: &Actor,
        entries: &[(PersonForm, EpisodeForm)],
    ) -> std::result::Result<Vec<BatchOutcome>, (usize, ServiceError)> {
        policy::require(actor, Permission::RegisterPerson).map_err(|e| (0, e))?;
        let mut valid = Vec::with_capacity(entries.len());
        for (i, (person, episode)) in entries.iter().enumerate() {
            let (p, e) = both(person.validate(), episode.validate(today())).map_err(|e| (i, e.into()))?;
            if p.code_basis.is_none() {
                return Err((i, Invalid::one("surname", "err-anonymous-code-needs-all").into()));
            }
            valid.push((p, e));
        }
        let mut tx = self.store().write().await.map_err(|e| (0, e.into()))?;
        let mut out = Vec::with_capacity(valid.len());
        for (i, (p, e)) in valid.iter().enumerate() {
            let outcome = async {
                check_case_manager(&mut tx, actor, e.case_manager_id).await?;
                let code = self.code_for(p);
                let (person_id, created) = match tx.person_id_by_code(&code).await? {
                    Some(id) => (id, false),
                    None => (insert_new_person(&mut tx, actor, p, &code, "importazione FHIR").await?, true),
                };
                if tx.open_episode_exists(person_id, actor.organisation_id).await? {
                    return Ok(BatchOutcome { person_id, code, outcome: "unchanged" });
                }
                let reason = if created {
                    "presa in carico (importazione FHIR)"
                } else {
                    "presa in carico di persona già nota (importazione FHIR)"
                };
                open_episode(&mut tx, actor, person_id, e, reason).await?;
                Ok::<_, ServiceError>(BatchOutcome {
                    person_id,
                    code,
                    outcome: if created { "created" } else { "taken_in_charge" },
                })
            }
            .await
            .map_err(|e| (i, e))?;
            out.push(outcome);
        }
        tx.commit().await.map_err(|e| (0, e.into()))?;
        Ok(out)
    }

    /// Records an access (first contact, information, orientation) without taking the person
    /// in charge: registers them if they are new (the access then lets the organisation see
    /// them for 90 days), or adds the access to a person the organisation already sees. A person
    /// known elsewhere answers "già noto", as registration does.
    pub async fn record_access(&self, actor: &Actor, person: &PersonForm, access: &AccessForm) -> Result<Registration> {
        policy::require(actor, Permission::RegisterPerson)?;
        let (p, a) = both(person.validate(), access.validate(today()))?;
        let code = self.code_for(&p);
        let mut tx = self.store().write().await?;
        check_oriented_to(&mut tx, &a).await?;
        if let Some(existing) = tx.person_id_by_code(&code).await? {
            let outcome = already_known(&mut tx, actor, existing, &code).await?;
            if let Registration::AlreadyFollowed { person_id, .. } = &outcome {
                insert_access(&mut tx, actor, *person_id, &a, "accesso e orientamento", a.outcome.code().into())
                    .await?;
            }
            tx.commit().await?;
            return Ok(outcome);
        }
        let person_id = insert_new_person(&mut tx, actor, &p, &code, "registrazione all'accesso").await?;
        insert_access(&mut tx, actor, person_id, &a, "accesso e orientamento", a.outcome.code().into()).await?;
        tx.commit().await?;
        Ok(Registration::Created { person_id, code })
    }

    /// Records an access for a person known elsewhere in the network ("già noto"), confirmed
    /// by giving the identity data again (as taking in charge does): the access then lets the
    /// organisation see the person for 90 days. Knowing a code alone grants nothing.
    pub async fn access_known(&self, actor: &Actor, person: &PersonForm, access: &AccessForm) -> Result<i64> {
        policy::require(actor, Permission::RegisterPerson)?;
        let (p, a) = both(person.validate(), access.validate(today()))?;
        if p.code_basis.is_none() {
            return Err(ServiceError::NotFound);
        }
        let code = self.code_for(&p);
        let mut tx = self.store().write().await?;
        check_oriented_to(&mut tx, &a).await?;
        let person_id = tx.person_id_by_code(&code).await?.ok_or(ServiceError::NotFound)?;
        let detail = format!("person {person_id}, {}", a.outcome.code());
        insert_access(&mut tx, actor, person_id, &a, "accesso di persona già nota", detail).await?;
        tx.commit().await?;
        Ok(person_id)
    }

    /// Adds an access to a person the organisation sees (a return, a new orientation).
    pub async fn add_access(&self, actor: &Actor, person_id: i64, access: &AccessForm) -> Result<i64> {
        policy::require(actor, Permission::RegisterPerson)?;
        let a = access.validate(today())?;
        let mut tx = self.store().write().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        check_oriented_to(&mut tx, &a).await?;
        let id =
            insert_access(&mut tx, actor, person_id, &a, "accesso e orientamento", a.outcome.code().into()).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The accesses the actor's organisation recorded for a person.
    pub async fn accesses_of_person(&self, actor: &Actor, person_id: i64) -> Result<Vec<AccessRow>> {
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        let list = tx.accesses_of_person(&actor.scope(), person_id).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Takes in charge a person already known elsewhere. The identity data must be given again
    /// (and must produce the same code): knowing a code alone grants nothing.
    pub async fn take_in_charge(&self, actor: &Actor, person: &PersonForm, episode: &EpisodeForm) -> Result<i64> {
        policy::require(actor, Permission::RegisterPerson)?;
        let (p, e) = both(person.validate(), episode.validate(today()))?;
        if p.code_basis.is_none() {
            return Err(ServiceError::NotFound);
        }
        let code = self.code_for(&p);
        let mut tx = self.store().write().await?;
        check_case_manager(&mut tx, actor, e.case_manager_id).await?;
        let person_id = tx.person_id_by_code(&code).await?.ok_or(ServiceError::NotFound)?;
        if tx.open_episode_exists(person_id, actor.organisation_id).await? {
            return Err(ServiceError::Conflict("err-episode-already-open"));
        }
        open_episode(&mut tx, actor, person_id, &e, "presa in carico di persona già nota").await?;
        tx.commit().await?;
        Ok(person_id)
    }

    /// Corrects a person's contacts and profile (roles that see identity).
    pub async fn update_person(&self, actor: &Actor, person_id: i64, form: &PersonUpdateForm) -> Result<()> {
        policy::require(actor, Permission::ViewIdentity)?;
        let mut tx = self.store().write().await?;
        in_charge(&mut tx, actor, person_id).await?;
        let person = tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        let u = form.validate(person.anonymous)?;
        tx.update_profile(person_id, &u.profile).await?;
        if !person.anonymous {
            tx.update_contacts(person_id, &u.contacts).await?;
        }
        record(&mut tx, actor, "update", "person", Some(person_id), "correzione di contatti e profilo", None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A partial update (`PATCH`): the fields not sent keep their stored values.
    pub async fn patch_person(&self, actor: &Actor, person_id: i64, patch: &PersonPatch) -> Result<()> {
        policy::require(actor, Permission::ViewIdentity)?;
        let mut tx = self.store().read().await?;
        let scope = actor.scope();
        let person = tx.person_visible(&scope, person_id).await?.ok_or(ServiceError::NotFound)?;
        let identity = tx.identity_visible(&scope, person_id).await?;
        tx.commit().await?;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let contact =
            |f: fn(&IdentityRow) -> &Option<String>| identity.as_ref().map(|i| text(f(i))).unwrap_or_default();
        let current = PersonUpdateForm {
            phone: contact(|i| &i.phone),
            email: contact(|i| &i.email),
            address: contact(|i| &i.address),
            citizenship: text(&person.citizenship),
            education: text(&person.education),
            work_history: text(&person.work_history),
            living_situation: text(&person.living_situation),
            user_class: text(&person.user_class),
        };
        self.update_person(actor, person_id, &patch.over(&current)).await
    }

    /// Opens a further episode for a person the organisation already sees (e.g. via consent).
    pub async fn open_episode(&self, actor: &Actor, person_id: i64, form: &EpisodeForm) -> Result<i64> {
        policy::require(actor, Permission::ManageEpisodes)?;
        let e = form.validate(today())?;
        let mut tx = self.store().write().await?;
        tx.person_visible(&actor.scope(), person_id).await?.ok_or(ServiceError::NotFound)?;
        check_case_manager(&mut tx, actor, e.case_manager_id).await?;
        if tx.open_episode_exists(person_id, actor.organisation_id).await? {
            return Err(ServiceError::Conflict("err-episode-already-open"));
        }
        let id = tx.insert_episode(person_id, actor.organisation_id, &e).await?;
        record(&mut tx, actor, "create", "care_episode", Some(id), "presa in carico", None).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Closes one of the actor's organisation's episodes.
    pub async fn close_episode(&self, actor: &Actor, episode_id: i64, form: &CloseEpisodeForm) -> Result<i64> {
        policy::require(actor, Permission::ManageEpisodes)?;
        let mut tx = self.store().write().await?;
        let ep = own_open_episode(&mut tx, actor, episode_id).await?;
        let close = form.validate(ep.start_date, today())?;
        tx.close_episode(episode_id, &close).await?;
        record(
            &mut tx,
            actor,
            "update",
            "care_episode",
            Some(episode_id),
            "chiusura presa in carico",
            Some(close.closure.code().into()),
        )
        .await?;
        tx.commit().await?;
        Ok(ep.person_id)
    }

    /// Records the current primary substance and whether treatment is in progress.
    pub async fn update_episode(&self, actor: &Actor, episode_id: i64, form: &EpisodeUpdateForm) -> Result<i64> {
        policy::require(actor, Permission::ManageEpisodes)?;
        let u = form.validate()?;
        let mut tx = self.store().write().await?;
        let ep = own_open_episode(&mut tx, actor, episode_id).await?;
        tx.update_episode(episode_id, &u).await?;
        // What changed, never the health values themselves: the auditor reads the trail.
        let detail = "campi: sostanza attuale, trattamento in corso".to_string();
        record(
            &mut tx,
            actor,
            "update",
            "care_episode",
            Some(episode_id),
            "aggiornamento presa in carico",
            Some(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(ep.person_id)
    }

    pub async fn add_team_member(&self, actor: &Actor, episode_id: i64, form: &TeamMemberForm) -> Result<i64> {
        policy::require(actor, Permission::ManageEpisodes)?;
        let m = form.validate()?;
        let mut tx = self.store().write().await?;
        let ep = own_open_episode(&mut tx, actor, episode_id).await?;
        // The member is chosen by membership so that their organisation is unambiguous.
        let membership = tx
            .membership(m.membership_id)
            .await?
            .filter(|ms| ms.active && TEAM_ROLES.contains(&ms.role.as_str()))
            .ok_or_else(|| Invalid::one("membership_id", "err-unknown-choice"))?;
        tx.insert_team_member(episode_id, membership.user_id, membership.organisation_id, &m.function).await?;
        record(
            &mut tx,
            actor,
            "update",
            "care_episode",
            Some(episode_id),
            "équipe: aggiunta",
            Some(format!("user {}", membership.user_id)),
        )
        .await?;
        tx.commit().await?;
        Ok(ep.person_id)
    }

    pub async fn remove_team_member(&self, actor: &Actor, episode_id: i64, member_id: i64) -> Result<i64> {
        policy::require(actor, Permission::ManageEpisodes)?;
        let mut tx = self.store().write().await?;
        let ep = own_open_episode(&mut tx, actor, episode_id).await?;
        tx.remove_team_member(episode_id, member_id).await?;
        record(
            &mut tx,
            actor,
            "update",
            "care_episode",
            Some(episode_id),
            "équipe: rimozione",
            Some(format!("member {member_id}")),
        )
        .await?;
        tx.commit().await?;
        Ok(ep.person_id)
    }

    pub async fn record_consent(&self, actor: &Actor, person_id: i64, form: &ConsentForm) -> Result<i64> {
        policy::require(actor, Permission::ManageConsents)?;
        let mut tx = self.store().write().await?;
        in_charge(&mut tx, actor, person_id).await?;
        let c = form.validate()?;
        tx.organisation(c.organisation_id)
            .await?
            .filter(|o| o.active)
            .ok_or_else(|| Invalid::one("organisation_id", "err-unknown-choice"))?;
        let id = tx.insert_consent(person_id, &c, actor.user_id, actor.organisation_id).await?;
        record(
            &mut tx,
            actor,
            "create",
            "consent",
            Some(id),
            "consenso alla condivisione",
            Some(format!("person {person_id} → org {} ({})", c.organisation_id, c.purpose)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Revokes a consent; the grantee loses access on its very next request.
    pub async fn revoke_consent(&self, actor: &Actor, person_id: i64, consent_id: i64) -> Result<()> {
        policy::require(actor, Permission::ManageConsents)?;
        let mut tx = self.store().write().await?;
        in_charge(&mut tx, actor, person_id).await?;
        tx.revoke_consent(person_id, consent_id, actor.user_id).await?;
        record(
            &mut tx,
            actor,
            "update",
            "consent",
            Some(consent_id),
            "revoca del consenso",
            Some(format!("person {person_id}")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The pathway page. Reading it is audited, with or without identity.
    pub async fn pathway(&self, actor: &Actor, person_id: i64) -> Result<Pathway> {
        let scope = actor.scope();
        let mut tx = self.store().read().await?;
        let access = policy::person_access(&mut tx, actor, person_id).await?;
        let mut person = tx.person_visible(&scope, person_id).await?.ok_or(ServiceError::NotFound)?;
        let mut identity =
            if access.sees(DataCategory::Identity) { tx.identity_visible(&scope, person_id).await? } else { None };
        let episodes = tx.episodes_of_person(&scope, person_id, access.owners(DataCategory::Health)).await?;
        let team = tx.team_of_person(&scope, person_id, access.owners(DataCategory::Health)).await?;
        let consents = tx.consents_of_person(&scope, person_id).await?;
        let restriction = tx.restriction(person_id).await?;
        // The person's own fields, each shown only when the access covers its kind of data.
        if !access.sees(DataCategory::Contacts) {
            if let Some(i) = identity.as_mut() {
                (i.phone, i.email, i.address) = (None, None, None);
            }
        }
        if !access.sees(DataCategory::EducationWork) {
            (person.education, person.work_history) = (None, None);
        }
        if !access.sees(DataCategory::Housing) {
            person.living_situation = None;
        }
        if !access.sees(DataCategory::Health) {
            person.user_class = None;
        }
        let reason = if identity.is_some() {
            "consultazione percorso (con identità)"
        } else {
            "consultazione percorso (pseudonimizzato)"
        };
        tx.commit().await?;
        let reason =
            if access.by_glass() { "accesso di emergenza (break-the-glass): consultazione percorso" } else { reason };
        self.record_read(actor, "person", Some(person_id), reason, None).await?;
        let manageable_episode = allows(actor.role, Permission::ManageEpisodes)
            .then(|| {
                episodes
                    .iter()
                    .find(|e| e.organisation_id == actor.organisation_id && e.end_date.is_none())
                    .map(|e| e.id)
            })
            .flatten();
        let timeline = timeline(&episodes, &team, &consents);
        Ok(Pathway {
            identity_hidden: !person.anonymous && identity.is_none(),
            person,
            identity,
            episodes,
            team,
            consents,
            timeline,
            manageable_episode,
            can_manage_consents: allows(actor.role, Permission::ManageConsents),
            restriction,
        })
    }

    /// Persons visible to the actor's organisation; names where the actor may see each one's
    /// identity (the store's one rule).
    pub async fn persons(&self, actor: &Actor, search: Option<&str>) -> Result<Vec<PersonSummary>> {
        policy::require(actor, Permission::ViewPersons)?;
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        let mut tx = self.store().read().await?;
        let rows = tx.persons_visible(&actor.scope(), search, 200).await?;
        tx.commit().await?;
        self.audit_list(actor, &rows, "elenco persone").await?;
        Ok(rows)
    }

    /// The restricted people visible to the actor's organisation (GDPR art. 18): left out of
    /// every other list, found here.
    pub async fn restricted_persons(&self, actor: &Actor) -> Result<Vec<PersonSummary>> {
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        let rows = tx.persons_restricted(&actor.scope()).await?;
        tx.commit().await?;
        self.audit_list(actor, &rows, "persone con trattamento limitato").await?;
        Ok(rows)
    }

    /// The case manager's home page: the people they follow.
    pub async fn followed(&self, actor: &Actor) -> Result<Vec<PersonSummary>> {
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        let rows = tx.persons_followed(&actor.scope()).await?;
        tx.commit().await?;
        self.audit_list(actor, &rows, "persone seguite").await?;
        Ok(rows)
    }

    /// Case managers of the actor's organisation (for the episode form).
    pub async fn case_managers(&self, actor: &Actor) -> Result<Vec<MembershipRow>> {
        let mut tx = self.store().read().await?;
        let rows = tx.members_with_roles(Some(actor.organisation_id), &["case_manager"]).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Case managers of every organisation (who a case can be transferred to).
    pub async fn network_case_managers(&self) -> Result<Vec<MembershipRow>> {
        let mut tx = self.store().read().await?;
        let rows = tx.members_with_roles(None, &["case_manager"]).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Professionals of every organisation who can join a care team.
    pub async fn team_candidates(&self) -> Result<Vec<MembershipRow>> {
        let mut tx = self.store().read().await?;
        let rows = tx.members_with_roles(None, TEAM_ROLES).await?;
        tx.commit().await?;
        Ok(rows)
    }
}

impl Service {
    /// A list that shows identities is one audited read, with how many names it showed.
    async fn audit_list(&self, actor: &Actor, rows: &[PersonSummary], reason: &str) -> Result<()> {
        let count = rows.iter().filter(|r| r.surname.is_some()).count();
        if count > 0 {
            self.record_read(actor, "person_list", None, reason, Some(format!("{count} persone"))).await?;
        }
        Ok(())
    }
}

/// The answer for a code that exists: the person the organisation already sees, or "già noto".
/// Whether someone is known in the network is itself sensitive: each answer is on the audit
/// trail with the person it concerns, and a user gets a limited number per hour (counted in the
/// trail, so the limit holds across app servers).
async fn already_known(
    tx: &mut Tx<percorsi_store::Write>,
    actor: &Actor,
    existing: i64,
    code: &str,
) -> Result<Registration> {
    let since = crate::audit::hours_ago(1);
    if tx.audit_count(actor.user_id, "lookup", "person", &since).await? >= PROBES_PER_HOUR {
        return Err(ServiceError::TooMany("err-probe-limit"));
    }
    let outcome = if tx.person_visible(&actor.scope(), existing).await?.is_some() {
        Registration::AlreadyFollowed { person_id: existing, code: code.to_string() }
    } else {
        Registration::KnownElsewhere { code: code.to_string() }
    };
    let reason = "registrazione: persona già nota";
    record(tx, actor, "lookup", "person", Some(existing), reason, Some(format!("codice {code}"))).await?;
    Ok(outcome)
}

/// A new person's pseudonymous record and, unless anonymous, identity; audited with `reason`.
/// Opens the actor's organisation's episode for a person it did not register, audited with
/// the person it concerns.
async fn open_episode(
    tx: &mut Tx<percorsi_store::Write>,
    actor: &Actor,
    person_id: i64,
    e: &percorsi_domain::episode::NewEpisode,
    reason: &str,
) -> Result<i64> {
    let episode_id = tx.insert_episode(person_id, actor.organisation_id, e).await?;
    record(tx, actor, "create", "care_episode", Some(episode_id), reason, Some(format!("person {person_id}"))).await?;
    Ok(episode_id)
}

async fn insert_new_person(
    tx: &mut Tx<percorsi_store::Write>,
    actor: &Actor,
    p: &NewPerson,
    code: &str,
    reason: &str,
) -> Result<i64> {
    let person_id = tx.insert_person(code, p.anonymous, &p.profile, actor.organisation_id).await?;
    if let Some(identity) = &p.identity {
        tx.insert_identity(person_id, identity).await?;
    }
    let how = if p.anonymous { "anonima" } else { "con identità" };
    record(tx, actor, "create", "person", Some(person_id), reason, Some(how.into())).await?;
    Ok(person_id)
}

/// An access of the actor's organisation, audited with `reason` and `detail`.
async fn insert_access(
    tx: &mut Tx<percorsi_store::Write>,
    actor: &Actor,
    person_id: i64,
    a: &NewAccess,
    reason: &str,
    detail: String,
) -> Result<i64> {
    let id = tx.insert_access(person_id, actor.organisation_id, a, actor.user_id).await?;
    record(tx, actor, "create", "access", Some(id), reason, Some(detail)).await?;
    Ok(id)
}

/// The organisation a person is oriented to exists and is active.
async fn check_oriented_to(tx: &mut Tx<percorsi_store::Write>, a: &NewAccess) -> Result<()> {
    if let Some(org) = a.oriented_to {
        if tx.organisation(org).await?.filter(|o| o.active).is_none() {
            return Err(Invalid::one("oriented_to", "err-unknown-choice").into());
        }
    }
    Ok(())
}

/// "Già noto" answers a user may receive per hour.
pub const PROBES_PER_HOUR: i64 = 20;

const TEAM_ROLES: &[&str] = &["case_manager", "operatore", "tutor_aziendale", "coordinatore"];

fn both<A, B>(
    a: std::result::Result<A, Invalid>,
    b: std::result::Result<B, Invalid>,
) -> std::result::Result<(A, B), Invalid> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(Invalid(mut x)), Err(Invalid(y))) => {
            x.extend(y);
            Err(Invalid(x))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

pub(crate) async fn check_case_manager<M: Mode>(tx: &mut Tx<M>, actor: &Actor, user_id: i64) -> Result<()> {
    let ok = tx
        .members_with_roles(Some(actor.organisation_id), &["case_manager"])
        .await?
        .iter()
        .any(|m| m.user_id == user_id);
    if ok {
        Ok(())
    } else {
        Err(Invalid::one("case_manager_id", "err-not-case-manager").into())
    }
}

/// A code for someone who gives no identifying data, or whose identity was erased: random,
/// linkable to nothing.
pub(crate) fn random_code() -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    pseudonym::random_code(&bytes)
}

/// The person's profile, consents and identity are changed only by an organisation that has
/// them in charge; others that see the person (by consent, on a team) read them.
pub(crate) async fn in_charge<M: Mode>(tx: &mut Tx<M>, actor: &Actor, person_id: i64) -> Result<()> {
    if policy::person_access(tx, actor, person_id).await?.in_charge() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

pub(crate) async fn own_open_episode<M: Mode>(tx: &mut Tx<M>, actor: &Actor, episode_id: i64) -> Result<EpisodeRow> {
    let ep = tx.episode_visible(&actor.scope(), episode_id).await?.ok_or(ServiceError::NotFound)?;
    if ep.organisation_id != actor.organisation_id {
        return Err(ServiceError::Forbidden);
    }
    if ep.end_date.is_some() {
        return Err(ServiceError::Conflict("err-episode-closed"));
    }
    Ok(ep)
}

fn timeline(episodes: &[EpisodeRow], team: &[TeamMemberRow], consents: &[ConsentRow]) -> Vec<TimelineEvent> {
    let mut ev = Vec::new();
    for e in episodes {
        ev.push(TimelineEvent {
            date: e.start_date,
            kind: "timeline-episode-opened",
            organisation: e.organisation_name.clone(),
            detail: Some(e.case_manager_name.clone()),
            detail_key: None,
        });
        if let Some(end) = e.end_date {
            ev.push(TimelineEvent {
                date: end,
                kind: "timeline-episode-closed",
                organisation: e.organisation_name.clone(),
                detail: None,
                detail_key: e.closure.as_ref().map(|c| format!("code-episode_closure-{c}")),
            });
        }
    }
    for t in team {
        if let Some(d) = day_of(&t.added_at) {
            ev.push(TimelineEvent {
                date: d,
                kind: "timeline-team-joined",
                organisation: t.organisation_name.clone(),
                detail: Some(format!("{} — {}", t.user_name, t.function)),
                detail_key: None,
            });
        }
    }
    for c in consents {
        ev.push(TimelineEvent {
            date: c.start_date,
            kind: "timeline-consent-given",
            organisation: c.organisation_name.clone(),
            detail: None,
            detail_key: Some(format!("code-consent_purpose-{}", c.purpose)),
        });
        if let Some(d) = c.revoked_at.as_deref().and_then(day_of) {
            ev.push(TimelineEvent {
                date: d,
                kind: "timeline-consent-revoked",
                organisation: c.organisation_name.clone(),
                detail: None,
                detail_key: Some(format!("code-consent_purpose-{}", c.purpose)),
            });
        }
    }
    ev.sort_by_key(|e| std::cmp::Reverse(e.date));
    ev
}

fn day_of(ts: &str) -> Option<NaiveDate> {
    ts.get(..10).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

impl Service {
    /// Whether the actor sees the person (404 otherwise), for pages that show a form about
    /// them without reading their record.
    pub async fn person_visible_to(&self, actor: &Actor, person_id: i64) -> Result<()> {
        let mut tx = self.store().read().await?;
        policy::person_access(&mut tx, actor, person_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The person an episode belongs to, if the actor sees it (to return to the right page).
    pub async fn episode_person(&self, actor: &Actor, episode_id: i64) -> Result<i64> {
        policy::require(actor, Permission::ViewPersons)?;
        let mut tx = self.store().read().await?;
        let ep = tx.episode_visible(&actor.scope(), episode_id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(ep.person_id)
    }
}
