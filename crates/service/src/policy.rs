//! The authorisation policy, in one place (ADR 0003). Role-level permissions are the table
//! below; which person an organisation sees is the SQL rule of [`percorsi_store::Scope`]; what
//! of that person it sees is a [`PersonAccess`]: a handle only this module makes, from the
//! grounds the store reports (own care episode, care team, consents with their purposes,
//! break-the-glass), which every use case about a person asks for and reads through.

use crate::{Actor, Result, ServiceError};
use percorsi_domain::codes::{ConsentPurpose, Role};
use percorsi_domain::consent::DataCategory;
use percorsi_store::{Grounds, Mode, OrganisationRow, Owners, ProgrammeRow, Tx};
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See pseudonymous person records of persons visible to the organisation.
    ViewPersons,
    /// See the identity (name, fiscal code, contacts) of visible persons.
    ViewIdentity,
    RegisterPerson,
    /// Open and close care episodes, manage the care team.
    ManageEpisodes,
    ManageConsents,
    ManageOrganisations,
    ManageUsers,
    ViewAudit,
    /// See programmes, their rules, quotas and budgets (aggregates, no person data).
    ViewProgrammes,
    /// Create programmes, change rules, set quotas and budgets.
    ManageProgrammes,
    /// Plan, activate, prolong, conclude interventions; fill the pre/post forms; record relapses.
    ManageInterventions,
    /// Record monthly payments (erogazioni).
    RecordPayments,
    /// See and record schedule, attendance and A/B/C observations of the interventions one tutors.
    TutorInterventions,
    /// Load new versions of the forms (schede).
    ManageInstruments,
    /// Outcome reports: exact for one's own organisation, suppressed for the region.
    ViewReports,
    /// The pseudonymised extract (code, no identity, dates to the month).
    ExtractData,
    /// Loading historical programmes from spreadsheets.
    ImportHistory,
    /// Writing and reviewing personalised projects (and placing people into opportunities).
    ManageProjects,
    /// Offering opportunities (places, jobs, housing units, activities) in the catalogue.
    ManageOpportunities,
    /// Searching the catalogue.
    ViewOpportunities,
    /// Opening a person's record in an emergency, with a stated reason, for a limited time.
    BreakGlass,
    /// The organisation's notifications (referrals, emergency accesses to review).
    ReadNotifications,
    /// Exact figures (no small-cell suppression) for the organisation's own subtree in reports
    /// and the dashboard; everyone else who sees reports gets them suppressed.
    OwnExactFigures,
    /// Reporting progress on a project objective one's organisation is responsible for.
    ReportObjectiveProgress,
    /// The person's own page: their project, consents, accesses and self-assessment.
    OwnPage,
    /// Writing and reading operator notes (free text that may name the person: only roles
    /// that see identities).
    Notes,
    /// Transferring a case and deciding on a case transferred to the organisation.
    TransferCases,
    /// The organisation's webhooks: endpoints of its own systems that receive signed event
    /// deliveries (no person data), and their delivery log.
    ManageWebhooks,
}

impl Permission {
    /// Every permission (the role tests go through all of them).
    pub const ALL: [Permission; 28] = {
        use Permission::*;
        [
            ViewPersons,
            ViewIdentity,
            RegisterPerson,
            ManageEpisodes,
            ManageConsents,
            ManageOrganisations,
            ManageUsers,
            ViewAudit,
            ViewProgrammes,
            ManageProgrammes,
            ManageInterventions,
            RecordPayments,
            TutorInterventions,
            ManageInstruments,
            ViewReports,
            ExtractData,
            ImportHistory,
            ManageProjects,
            ManageOpportunities,
            ViewOpportunities,
            BreakGlass,
            ReadNotifications,
            OwnExactFigures,
            ReportObjectiveProgress,
            OwnPage,
            Notes,
            TransferCases,
            ManageWebhooks,
        ]
    };
}

/// The permission table. Administrators manage accounts, not clinical records; analysts see
/// no identities; tutors see only the interventions they tutor (a later capability).
pub fn allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    use Role::*;
    match p {
        ViewPersons => matches!(role, CaseManager | Operatore | Coordinatore),
        ViewIdentity => matches!(role, CaseManager | Operatore),
        RegisterPerson => matches!(role, CaseManager | Operatore),
        ManageEpisodes => matches!(role, CaseManager),
        ManageConsents => matches!(role, CaseManager | Operatore),
        ManageOrganisations | ManageUsers => matches!(role, Amministratore),
        ViewAudit => matches!(role, Auditor),
        ViewProgrammes => matches!(role, CaseManager | Operatore | Coordinatore | Analista),
        ManageProgrammes => matches!(role, Coordinatore),
        ManageInterventions => matches!(role, CaseManager),
        RecordPayments => matches!(role, CaseManager | Coordinatore),
        TutorInterventions => matches!(role, TutorAziendale),
        ManageInstruments => matches!(role, Amministratore),
        ViewReports => matches!(role, Coordinatore | Analista),
        ExtractData | ImportHistory => matches!(role, Analista),
        ManageProjects => matches!(role, CaseManager),
        ManageOpportunities => matches!(role, CaseManager | Operatore | Coordinatore),
        ViewOpportunities => matches!(role, CaseManager | Operatore | Coordinatore),
        BreakGlass => matches!(role, CaseManager | Operatore),
        ReadNotifications => matches!(role, CaseManager | Operatore | Coordinatore | Auditor),
        OwnExactFigures => matches!(role, Coordinatore),
        ReportObjectiveProgress => matches!(role, CaseManager | Operatore),
        OwnPage => matches!(role, Persona),
        Notes => matches!(role, CaseManager | Operatore),
        TransferCases => matches!(role, CaseManager),
        ManageWebhooks => matches!(role, Amministratore),
    }
}

/// How long after proving who they are a user may do sensitive things (grant roles, reset a
/// password or a second factor, link a single sign-on identity, change an organisation's
/// sign-in rules, break the glass, export the extract) before being asked again (ASVS V3.7.1).
pub const REAUTHENTICATE_AFTER_MINUTES: i64 = 10;

/// Refuses a sensitive action when the session's last proof of identity is older than
/// [`REAUTHENTICATE_AFTER_MINUTES`]. API tokens present their secret with every request and
/// are not asked (they are issued by the operator and expire).
pub fn require_recent_authentication(actor: &Actor) -> Result<()> {
    let Some(at) = &actor.authenticated_at else { return Ok(()) };
    let fresh = chrono::DateTime::parse_from_rfc3339(at).is_ok_and(|t| {
        t.with_timezone(&chrono::Utc) > chrono::Utc::now() - chrono::Duration::minutes(REAUTHENTICATE_AFTER_MINUTES)
    });
    if fresh {
        Ok(())
    } else {
        Err(ServiceError::Reauthenticate)
    }
}

pub fn require(actor: &Actor, p: Permission) -> Result<()> {
    if allows(actor.role, p) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// What an actor may see of one person: obtained only from [`person_access`], so holding one
/// proves the person is visible; its methods say which fields and which other organisations'
/// rows each kind of data shows.
#[derive(Debug, Clone)]
pub struct PersonAccess {
    person_id: i64,
    organisation_id: i64,
    identity_role: bool,
    grounds: Grounds,
    /// Categories opened by the consents in force for this organisation.
    consented: Vec<DataCategory>,
}

impl PersonAccess {
    pub fn person_id(&self) -> i64 {
        self.person_id
    }

    /// The organisation has the person in charge (an open care episode of its own).
    pub fn in_charge(&self) -> bool {
        self.grounds.in_charge
    }

    /// Opened with break-the-glass (shown as such on the page and the audit trail).
    pub fn by_glass(&self) -> bool {
        self.grounds.glass
            && !self.grounds.in_charge
            && !self.grounds.team
            && !self.grounds.access
            && self.consented.is_empty()
    }

    /// Whether other organisations' rows of this kind are shown: the person's consent for this
    /// organisation with a purpose that covers it, a place on a care team (shared care), or
    /// break-the-glass. Taking someone in charge alone opens only the organisation's own rows.
    pub fn others(&self, c: DataCategory) -> bool {
        self.grounds.team || self.grounds.glass || self.consented.contains(&c)
    }

    /// Whether the person's own fields of this kind (identity, contacts, profile) are shown:
    /// to the organisation in charge, the care team and break-the-glass all of them, through a
    /// consent those of its purposes; identity and contacts only to roles that see identities.
    pub fn sees(&self, c: DataCategory) -> bool {
        // The organisation's own access record shows it the person (to orient them), not the
        // other organisations' rows.
        let grounded = self.grounds.in_charge || self.grounds.access || self.others(c);
        match c {
            DataCategory::Identity | DataCategory::Contacts => grounded && self.identity_role,
            _ => grounded,
        }
    }

    /// The rows of this kind a store query returns.
    pub fn owners(&self, c: DataCategory) -> Owners {
        Owners { organisation_id: self.organisation_id, others: self.others(c) }
    }

    /// Whether a row of this kind written by `organisation_id` is shown.
    pub fn shows_row_of(&self, organisation_id: i64, c: DataCategory) -> bool {
        organisation_id == self.organisation_id || self.others(c)
    }
}

/// An organisation and every organisation under it, at any depth (a coordinator's reach: an
/// AUSL and its SerD).
pub fn organisation_and_below(all: &[OrganisationRow], root: i64) -> HashSet<i64> {
    let mut set = HashSet::from([root]);
    loop {
        let before = set.len();
        for o in all {
            if o.parent_id.is_some_and(|p| set.contains(&p)) {
                set.insert(o.id);
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

/// A programme the actor may change (rules, budgets, name): a coordinator of the organisation
/// that runs it or of one above it. Others' programmes answer 403 (they are not secret: every
/// role that sees programmes reads them).
pub async fn programme_to_manage<M: Mode>(tx: &mut Tx<M>, actor: &Actor, programme_id: i64) -> Result<ProgrammeRow> {
    require(actor, Permission::ManageProgrammes)?;
    let programme = tx.programme(programme_id).await?.ok_or(ServiceError::NotFound)?;
    let reach = organisation_and_below(&tx.organisations().await?, actor.organisation_id);
    match programme.owner_organisation_id {
        Some(owner) if reach.contains(&owner) => Ok(programme),
        _ => Err(ServiceError::Forbidden),
    }
}

/// The access of `actor` to a person, or `NotFound` (hidden and missing answer alike).
pub async fn person_access<M: Mode>(tx: &mut Tx<M>, actor: &Actor, person_id: i64) -> Result<PersonAccess> {
    require(actor, Permission::ViewPersons)?;
    let grounds = tx.grounds(&actor.scope(), person_id).await?;
    if !grounds.any() {
        return Err(ServiceError::NotFound);
    }
    let mut consented: Vec<DataCategory> = Vec::new();
    for purpose in grounds.purposes.iter().filter_map(|p| ConsentPurpose::parse(p)) {
        for c in purpose.categories() {
            if !consented.contains(c) {
                consented.push(*c);
            }
        }
    }
    Ok(PersonAccess {
        person_id,
        organisation_id: actor.organisation_id,
        identity_role: allows(actor.role, Permission::ViewIdentity),
        grounds,
        consented,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    #[test]
    fn e_mails_of_an_organisation_go_to_the_roles_that_read_its_notifications() {
        let readers: Vec<Role> = Role::ALL.iter().copied().filter(|r| allows(*r, ReadNotifications)).collect();
        let mut recipients = percorsi_domain::notification::RECIPIENT_ROLES.to_vec();
        recipients.sort_unstable();
        let mut readers = readers;
        readers.sort_unstable();
        assert_eq!(recipients, readers);
    }

    #[test]
    fn the_person_has_only_their_own_page() {
        let granted: Vec<Permission> = Permission::ALL.into_iter().filter(|p| allows(Role::Persona, *p)).collect();
        assert_eq!(granted, vec![OwnPage]);
        assert!(Role::ALL.iter().filter(|r| allows(**r, OwnPage)).eq([Role::Persona].iter()));
        assert_eq!(Role::grantable("persona"), None, "only an invitation makes a person's account");
    }

    #[test]
    fn administrators_and_analysts_see_no_clinical_records() {
        for role in [Role::Amministratore, Role::Analista, Role::Auditor, Role::TutorAziendale, Role::Persona] {
            assert!(!allows(role, ViewPersons), "{role}");
            assert!(!allows(role, ViewIdentity), "{role}");
        }
    }

    #[test]
    fn only_case_and_operators_see_identity() {
        let with_identity: Vec<Role> = Role::ALL.iter().copied().filter(|r| allows(*r, ViewIdentity)).collect();
        assert_eq!(with_identity, vec![Role::CaseManager, Role::Operatore]);
        assert!(allows(Role::Coordinatore, ViewPersons));
    }

    #[test]
    fn tutors_only_tutor_and_coordinators_run_programmes() {
        let tutor: Vec<Permission> =
            [ViewPersons, ViewIdentity, ViewProgrammes, ManageInterventions, RecordPayments, TutorInterventions]
                .into_iter()
                .filter(|p| allows(Role::TutorAziendale, *p))
                .collect();
        assert_eq!(tutor, vec![TutorInterventions]);
        assert!(allows(Role::Coordinatore, ManageProgrammes) && !allows(Role::CaseManager, ManageProgrammes));
        assert!(allows(Role::CaseManager, ManageInterventions) && !allows(Role::Coordinatore, ManageInterventions));
    }

    fn access(grounds: Grounds, purposes: &[ConsentPurpose]) -> PersonAccess {
        PersonAccess {
            person_id: 1,
            organisation_id: 7,
            identity_role: true,
            grounds,
            consented: purposes.iter().flat_map(|p| p.categories().iter().copied()).collect(),
        }
    }

    #[test]
    fn taking_in_charge_opens_only_the_organisations_own_history() {
        let a = access(Grounds { in_charge: true, ..Default::default() }, &[]);
        assert!(a.sees(DataCategory::Identity) && a.sees(DataCategory::Health));
        for c in DataCategory::ALL {
            assert!(!a.others(c), "{c:?} of other organisations opened without consent");
        }
        assert!(a.shows_row_of(7, DataCategory::Health) && !a.shows_row_of(8, DataCategory::Health));
    }

    #[test]
    fn a_work_insertion_consent_shows_no_health_data() {
        let a = access(
            Grounds { purposes: vec!["inserimento_lavorativo".into()], ..Default::default() },
            &[ConsentPurpose::InserimentoLavorativo],
        );
        assert!(a.sees(DataCategory::EducationWork) && a.others(DataCategory::Intervention));
        for c in [DataCategory::Health, DataCategory::Relapses, DataCategory::Assessments, DataCategory::Housing] {
            assert!(!a.sees(c) && !a.others(c), "{c:?}");
        }
    }

    #[test]
    fn break_the_glass_opens_everything_and_says_so() {
        let a = access(Grounds { glass: true, ..Default::default() }, &[]);
        assert!(a.by_glass());
        assert!(DataCategory::ALL.iter().all(|c| a.sees(*c) && a.others(*c)));
    }

    #[test]
    fn account_and_audit_duties_are_separate() {
        assert!(allows(Role::Amministratore, ManageUsers));
        assert!(!allows(Role::Amministratore, ViewAudit));
        assert!(allows(Role::Auditor, ViewAudit));
        assert!(!allows(Role::Auditor, ManageUsers));
        assert!(allows(Role::CaseManager, ManageEpisodes));
        assert!(!allows(Role::Operatore, ManageEpisodes));
    }
}
