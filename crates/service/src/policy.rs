//! The authorisation policy, in one place. Role-level permissions live here; the
//! person-level rule (care episode, consent, care team) is applied in SQL by the store's
//! [`percorsi_store::Scope`], built from the actor.

use crate::{Actor, Result, ServiceError};
use percorsi_domain::codes::Role;

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
    }
}

pub fn require(actor: &Actor, p: Permission) -> Result<()> {
    if allows(actor.role, p) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    #[test]
    fn administrators_and_analysts_see_no_clinical_records() {
        for role in [Role::Amministratore, Role::Analista, Role::Auditor, Role::TutorAziendale] {
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
