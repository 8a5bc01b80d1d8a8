//! Retention (GDPR art. 5(1)(e)): what identifies a person is kept only as long as the policy
//! says after their last care episode ended; then it is removed and the record lives on only
//! as pseudonymous data, so every outcome report stays the same. Run on a schedule by
//! `percorsi retention run` (dry run first); each change is audited without personal values.

use crate::audit::system_entry;
use crate::{Result, Service};
use chrono::{Months, NaiveDate};
use percorsi_store::Expired;
use serde::Serialize;

/// How long after the last care episode ended each kind of data is kept (docs/privacy.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Identity (names, birth date, fiscal code) and with it every code derived from it.
    pub identity_years: u32,
    /// Phone, e-mail and address: needed only while someone is in care.
    pub contacts_years: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { identity_years: 10, contacts_years: 2 }
    }
}

/// The trail's entry for one person: which rule, never a value.
fn entry(person_id: i64, reason: &str) -> percorsi_domain::audit::AuditEntry {
    let mut e = system_entry("retention", None, "retention", "person", Some(person_id.to_string()), reason);
    e.person_id = Some(person_id);
    e
}

#[derive(Debug, Clone, Serialize)]
pub struct RetentionOutcome {
    pub dry_run: bool,
    /// Episodes that ended before these days have expired.
    pub identity_cutoff: NaiveDate,
    pub contacts_cutoff: NaiveDate,
    /// People whose identity is (or would be) removed.
    pub anonymised: Vec<i64>,
    /// People whose contacts alone are (or would be) removed.
    pub contacts_removed: Vec<i64>,
}

impl Service {
    /// Applies the policy as of `today`; with `dry_run`, only says what it would do.
    pub async fn run_retention(
        &self,
        policy: RetentionPolicy,
        today: NaiveDate,
        dry_run: bool,
    ) -> Result<RetentionOutcome> {
        let years = |n: u32| today.checked_sub_months(Months::new(n * 12)).unwrap_or(NaiveDate::MIN);
        let (identity_cutoff, contacts_cutoff) = (years(policy.identity_years), years(policy.contacts_years));
        let mut tx = self.store().read().await?;
        let anonymised = tx.retention_due(Expired::Identity, &identity_cutoff.to_string()).await?;
        let contacts_removed: Vec<i64> = tx
            .retention_due(Expired::Contacts, &contacts_cutoff.to_string())
            .await?
            .into_iter()
            .filter(|id| anonymised.binary_search(id).is_err())
            .collect();
        tx.commit().await?;
        let outcome = RetentionOutcome { dry_run, identity_cutoff, contacts_cutoff, anonymised, contacts_removed };
        if dry_run {
            return Ok(outcome);
        }
        // One person per short transaction, each with its entry: a run over thousands of
        // records never holds the writer, and stops cleanly where it failed.
        for &id in &outcome.contacts_removed {
            let mut tx = self.store().write().await?;
            tx.drop_contacts(id).await?;
            let reason = format!("conservazione: contatti scaduti (episodi chiusi prima del {contacts_cutoff})");
            tx.append_audit(&entry(id, &reason)).await?;
            tx.commit().await?;
        }
        for &id in &outcome.anonymised {
            let mut tx = self.store().write().await?;
            let files = tx.anonymise_person(id, &crate::pathway::random_code()).await?;
            let reason =
                format!("conservazione: identità scaduta (episodi chiusi prima del {identity_cutoff}); anonimizzata");
            tx.append_audit(&entry(id, &reason)).await?;
            tx.commit().await?;
            self.forget_files(files).await?;
        }
        Ok(outcome)
    }
}
