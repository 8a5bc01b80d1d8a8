//! Administration of organisations and user accounts (administrator role, and the CLI).

use crate::audit::{record, record_system};
use crate::auth::hash_password_off_thread;
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use percorsi_domain::codes::Role;
use percorsi_domain::organisation::OrganisationForm;
use percorsi_domain::user::{check_password, NewUser, UserForm};
use percorsi_domain::validation::Checker;
use percorsi_domain::FieldError;
use percorsi_domain::Invalid;
use percorsi_store::{MembershipRow, Mode, OrganisationRow, Tx, UserRow};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserWithRoles {
    pub user: UserRow,
    pub memberships: Vec<MembershipRow>,
}

impl Service {
    /// Organisations are not clinical data: every signed-in role may list them (to pick consent
    /// recipients, for example).
    pub async fn organisations(&self) -> Result<Vec<OrganisationRow>> {
        let mut tx = self.store().read().await?;
        let rows = tx.organisations().await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn create_organisation(&self, actor: &Actor, form: &OrganisationForm) -> Result<i64> {
        policy::require(actor, Permission::ManageOrganisations)?;
        let o = form.validate()?;
        let mut tx = self.store().write().await?;
        if let Some(parent) = o.parent_id {
            tx.organisation(parent).await?.ok_or_else(|| Invalid::one("parent_id", "err-unknown-choice"))?;
        }
        let id = tx.insert_organisation(&o).await.map_err(|e| name_taken(e, "name"))?;
        record(&mut tx, actor, "create", "organisation", Some(id), "amministrazione enti", Some(o.name.clone()))
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn update_organisation(
        &self,
        actor: &Actor,
        id: i64,
        form: &OrganisationForm,
        active: bool,
    ) -> Result<()> {
        policy::require(actor, Permission::ManageOrganisations)?;
        let o = form.validate()?;
        let mut tx = self.store().write().await?;
        tx.organisation(id).await?.ok_or(ServiceError::NotFound)?;
        if let Some(parent) = o.parent_id {
            tx.organisation(parent).await?.ok_or_else(|| Invalid::one("parent_id", "err-unknown-choice"))?;
            if tx.organisation_is_ancestor(parent, id).await? {
                return Err(Invalid::one("parent_id", "err-parent-cycle").into());
            }
        }
        tx.update_organisation(id, &o, active).await.map_err(|e| name_taken(e, "name"))?;
        record(&mut tx, actor, "update", "organisation", Some(id), "amministrazione enti", Some(o.name.clone()))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An organisation's sign-in rules: a second factor for every role, and whether local
    /// passwords may be used (otherwise only single sign-on). Sessions that signed in with a
    /// password stop acting there at their next request.
    pub async fn set_sign_in_rules(
        &self,
        actor: &Actor,
        organisation_id: i64,
        mfa_required: bool,
        password_login: bool,
    ) -> Result<()> {
        policy::require(actor, Permission::ManageOrganisations)?;
        policy::require_recent_authentication(actor)?;
        let mut tx = self.store().write().await?;
        tx.set_sign_in_rules(organisation_id, mfa_required, password_login).await?;
        let detail = format!("secondo fattore per tutti: {mfa_required}; password locali: {password_login}");
        record(&mut tx, actor, "update", "organisation", Some(organisation_id), "regole di accesso", Some(detail))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Links a user's account to the value of the identity provider's claim that signs in as it
    /// (blank unlinks). Whoever holds that identity at the provider becomes this user.
    pub async fn link_sso(&self, actor: &Actor, user_id: i64, subject: &str) -> Result<()> {
        policy::require(actor, Permission::ManageUsers)?;
        policy::require_recent_authentication(actor)?;
        let subject = subject.trim();
        if subject.chars().count() > 200 {
            return Err(Invalid(vec![FieldError::new("sso_subject", "err-too-long").arg("max", "200")]).into());
        }
        let mut tx = self.store().write().await?;
        let value = (!subject.is_empty()).then_some(subject);
        tx.set_sso_subject(user_id, value).await.map_err(|e| name_taken(e, "sso_subject"))?;
        let what = if value.is_some() { "collegamento identità SSO" } else { "scollegamento identità SSO" };
        record(&mut tx, actor, "update", "user", Some(user_id), what, None).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn users(&self, actor: &Actor) -> Result<Vec<UserWithRoles>> {
        policy::require(actor, Permission::ManageUsers)?;
        let mut tx = self.store().read().await?;
        let out = users_with_roles(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn create_user(&self, actor: &Actor, form: &UserForm) -> Result<i64> {
        policy::require(actor, Permission::ManageUsers)?;
        policy::require_recent_authentication(actor)?;
        let prepared = prepare_user(form).await?;
        let mut tx = self.store().write().await?;
        let id = create_user_in(&mut tx, &prepared).await?;
        record(
            &mut tx,
            actor,
            "create",
            "user",
            Some(id),
            "amministrazione utenti",
            Some(form.username.trim().to_lowercase()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn grant_role(&self, actor: &Actor, user_id: i64, organisation_id: &str, role: &str) -> Result<i64> {
        policy::require(actor, Permission::ManageUsers)?;
        policy::require_recent_authentication(actor)?;
        let mut c = Checker::new();
        let org = percorsi_domain::episode::parse_id(&mut c, "organisation_id", organisation_id);
        let role = c.required_code("role", role, Role::grantable);
        c.finish(|| ())?;
        let (org, role) = (org.unwrap_or_default(), role.unwrap_or(Role::Operatore));
        // Whoever manages accounts never gives power to their own: an administrator who wants a
        // clinical or audit role asks another administrator, and the grant is on the audit trail.
        if user_id == actor.user_id {
            return Err(ServiceError::Conflict("err-cannot-grant-self"));
        }
        let mut tx = self.store().write().await?;
        tx.user(user_id).await?.ok_or(ServiceError::NotFound)?;
        tx.organisation(org).await?.ok_or_else(|| Invalid::one("organisation_id", "err-unknown-choice"))?;
        let id = tx.insert_membership(user_id, org, role.code()).await.map_err(|e| name_taken(e, "role"))?;
        record(
            &mut tx,
            actor,
            "create",
            "membership",
            Some(id),
            grant_reason(role),
            Some(format!("user {user_id} {role} org {org}")),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn set_membership_active(&self, actor: &Actor, membership_id: i64, active: bool) -> Result<()> {
        policy::require(actor, Permission::ManageUsers)?;
        let mut tx = self.store().write().await?;
        let membership = tx.membership(membership_id).await?.ok_or(ServiceError::NotFound)?;
        if membership.user_id == actor.user_id {
            return Err(ServiceError::Conflict("err-cannot-grant-self"));
        }
        tx.set_membership_active(membership_id, active).await?;
        if !active {
            tx.end_access_of_membership(membership_id).await?;
        }
        record(
            &mut tx,
            actor,
            "update",
            "membership",
            Some(membership_id),
            if active { "riattivazione ruolo" } else { "revoca ruolo" },
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_user_active(&self, actor: &Actor, user_id: i64, active: bool) -> Result<()> {
        policy::require(actor, Permission::ManageUsers)?;
        if user_id == actor.user_id && !active {
            return Err(ServiceError::Conflict("err-cannot-disable-self"));
        }
        let mut tx = self.store().write().await?;
        tx.set_user_active(user_id, active).await?;
        if !active {
            tx.end_access_of_user(user_id).await?;
        }
        record(
            &mut tx,
            actor,
            "update",
            "user",
            Some(user_id),
            if active { "riattivazione utente" } else { "disattivazione utente" },
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn reset_password(&self, actor: &Actor, user_id: i64, password: &str) -> Result<()> {
        policy::require(actor, Permission::ManageUsers)?;
        policy::require_recent_authentication(actor)?;
        let mut tx = self.store().read().await?;
        let user = tx.user(user_id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        let mut c = Checker::new();
        check_password(&mut c, password, &[&user.username, &user.display_name]);
        c.finish(|| ())?;
        let hash = hash_password_off_thread(password).await?;
        let mut tx = self.store().write().await?;
        tx.set_password(user_id, &hash).await?;
        let (sessions, tokens) = tx.end_access_of_user(user_id).await?;
        let detail = format!("{sessions} sessioni chiuse, {tokens} token revocati");
        record(&mut tx, actor, "update", "user", Some(user_id), "reimpostazione password", Some(detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Aggregate row counts for the metrics endpoint.
    pub async fn totals(&self) -> Result<Vec<(&'static str, i64)>> {
        let mut tx = self.store().read().await?;
        let t = tx.totals().await?;
        tx.commit().await?;
        Ok(t)
    }

    // ---- CLI operations: run by whoever holds the server, audited as the system. ----

    /// The first start of a real installation: its first organisation and its administrator,
    /// in one transaction. Refused once the database has any organisation or user.
    pub async fn init_installation(&self, organisation: &OrganisationForm, admin: &UserForm) -> Result<(i64, i64)> {
        let o = organisation.validate()?;
        // The organisation does not exist yet: its id is set once it is written.
        let form = UserForm { organisation_id: "1".into(), role: Role::Amministratore.code().into(), ..admin.clone() };
        let prepared = prepare_user(&form).await?;
        let mut tx = self.store().write().await?;
        if tx.holds_data().await? {
            return Err(ServiceError::Conflict("err-already-initialised"));
        }
        let org_id = tx.insert_organisation(&o).await?;
        let (mut user, hash) = prepared;
        user.organisation_id = org_id;
        let user_id = create_user_in(&mut tx, &(user, hash)).await?;
        record_system(&mut tx, "cli", None, "create", "installation", Some(org_id.to_string()), "prima configurazione")
            .await?;
        tx.commit().await?;
        Ok((org_id, user_id))
    }

    pub async fn cli_add_user(&self, form: &UserForm) -> Result<i64> {
        let prepared = prepare_user(form).await?;
        let mut tx = self.store().write().await?;
        let id = create_user_in(&mut tx, &prepared).await?;
        record_system(&mut tx, "cli", None, "create", "user", Some(id.to_string()), "amministrazione utenti (CLI)")
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn cli_users(&self) -> Result<Vec<UserWithRoles>> {
        let mut tx = self.store().read().await?;
        let out = users_with_roles(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn cli_set_password(&self, username: &str, password: &str) -> Result<()> {
        let mut c = Checker::new();
        check_password(&mut c, password, &[username]);
        c.finish(|| ())?;
        let hash = hash_password_off_thread(password).await?;
        let mut tx = self.store().write().await?;
        let user = tx.user_by_username(&username.trim().to_lowercase()).await?.ok_or(ServiceError::NotFound)?;
        tx.set_password(user.id, &hash).await?;
        tx.end_access_of_user(user.id).await?;
        record_system(
            &mut tx,
            "cli",
            None,
            "update",
            "user",
            Some(user.id.to_string()),
            "reimpostazione password (CLI)",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn cli_set_active(&self, username: &str, active: bool) -> Result<()> {
        let mut tx = self.store().write().await?;
        let user = tx.user_by_username(&username.trim().to_lowercase()).await?.ok_or(ServiceError::NotFound)?;
        tx.set_user_active(user.id, active).await?;
        record_system(
            &mut tx,
            "cli",
            None,
            "update",
            "user",
            Some(user.id.to_string()),
            if active { "riattivazione utente (CLI)" } else { "disattivazione utente (CLI)" },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn cli_membership(
        &self,
        username: &str,
        organisation_id: Option<i64>,
        role: Option<Role>,
    ) -> Result<MembershipRow> {
        let mut tx = self.store().read().await?;
        let m = crate::auth::membership_for(&mut tx, &username.trim().to_lowercase(), organisation_id, role).await?;
        tx.commit().await?;
        Ok(m)
    }
}

/// Validates the form and hashes the password before the write transaction begins, so the
/// writer is never held while argon2 runs.
async fn prepare_user(form: &UserForm) -> Result<(NewUser, String)> {
    let u = form.validate()?;
    let hash = hash_password_off_thread(&u.password).await?;
    Ok((u, hash))
}

async fn create_user_in(tx: &mut Tx, (u, hash): &(NewUser, String)) -> Result<i64> {
    tx.organisation(u.organisation_id).await?.ok_or_else(|| Invalid::one("organisation_id", "err-unknown-choice"))?;
    let id = tx.insert_user(&u.username, &u.display_name, hash).await.map_err(|e| name_taken(e, "username"))?;
    tx.insert_membership(id, u.organisation_id, u.role.code()).await?;
    Ok(id)
}

/// Staff accounts with their roles. People's own accounts are left out: an administrator
/// would otherwise learn who is in care where (they are managed by the organisation in charge).
async fn users_with_roles<M: Mode>(tx: &mut Tx<M>) -> Result<Vec<UserWithRoles>> {
    let people: std::collections::HashSet<i64> = tx.person_account_users().await?.into_iter().collect();
    let mut out = Vec::new();
    for user in tx.users().await?.into_iter().filter(|u| !people.contains(&u.id)) {
        let memberships = tx.memberships_of_user(user.id).await?;
        out.push(UserWithRoles { user, memberships });
    }
    Ok(out)
}

/// A uniqueness violation becomes a field error ("this username is already taken").
fn name_taken(e: percorsi_store::StoreError, field: &'static str) -> ServiceError {
    match e {
        percorsi_store::StoreError::Duplicate => Invalid::one(field, "err-duplicate").into(),
        other => other.into(),
    }
}

/// The audit reason of a role grant: grants that open identified health records or the audit
/// trail say so, so the auditor finds them among the account changes.
fn grant_reason(role: Role) -> &'static str {
    match role {
        Role::CaseManager | Role::Operatore | Role::Coordinatore | Role::TutorAziendale => {
            "assegnazione ruolo con accesso a dati personali"
        }
        Role::Auditor => "assegnazione ruolo di revisione (audit)",
        Role::Analista | Role::Amministratore => "assegnazione ruolo",
        Role::Persona => "accesso della persona alla propria pagina",
    }
}
