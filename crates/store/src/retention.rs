//! Retention (GDPR art. 5(1)(e)): finding the people whose data have been kept as long as the
//! policy allows, and removing what identifies them while the pseudonymous record (and so every
//! outcome report) stays.

use crate::engine::{Mode, Tx, Write};
use crate::Result;

/// What has expired: the whole identity, or the contacts alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    Identity,
    Contacts,
}

impl<M: Mode> Tx<M> {
    /// People with identity (or with contacts) whose every care episode ended before `cutoff`.
    /// A restricted person is kept (GDPR art. 18(1)(c): the person needs the data for a claim,
    /// or opposed their erasure) until the restriction is lifted.
    pub async fn retention_due(&mut self, what: Expired, cutoff: &str) -> Result<Vec<i64>> {
        let contacts = match what {
            Expired::Identity => "",
            Expired::Contacts => "AND (i.phone IS NOT NULL OR i.email IS NOT NULL OR i.address IS NOT NULL)",
        };
        Ok(sqlx::query_scalar(&format!(
            "SELECT i.person_id FROM person_identities i \
             WHERE EXISTS (SELECT 1 FROM care_episodes e WHERE e.person_id = i.person_id) \
             AND NOT EXISTS (SELECT 1 FROM care_episodes e WHERE e.person_id = i.person_id \
                             AND (e.end_date IS NULL OR e.end_date >= $1)) {contacts} \
             AND NOT EXISTS (SELECT 1 FROM person_restrictions r WHERE r.person_id = i.person_id) \
             ORDER BY i.person_id"
        ))
        .bind(cutoff)
        .fetch_all(self.conn())
        .await?)
    }
}

impl Tx<Write> {
    /// Removes the identity, the codes derived from it, the signed documents (a signed form
    /// names the person) and free text (notes, what relapses and handovers said, the household's description): the person keeps a random code, linkable to nothing, and everything
    /// pseudonymous (episodes, interventions, facts). Nothing a report fact is derived from
    /// changes (sex, birth year and profile stay). Returns the documents' files, for the caller
    /// to delete once this has committed.
    pub async fn anonymise_person(&mut self, person_id: i64, random_code: &str) -> Result<Vec<String>> {
        let files = self.delete_documents_of_person(person_id).await?;
        // Free text may name the person: notes go, and what relapses and handovers said.
        for sql in [
            "DELETE FROM person_identities WHERE person_id = $1",
            "DELETE FROM person_code_aliases WHERE person_id = $1",
            "DELETE FROM notes WHERE person_id = $1",
            "UPDATE relapses SET context = NULL, response = NULL WHERE person_id = $1",
            "UPDATE transfers SET handover = '', decision_note = NULL WHERE person_id = $1",
            "UPDATE person_assessments SET household = NULL WHERE person_id = $1",
            "UPDATE accesses SET note = NULL WHERE person_id = $1",
        ] {
            sqlx::query(sql).bind(person_id).execute(self.conn()).await?;
        }
        crate::rows::found(
            sqlx::query("UPDATE persons SET anonymous = $1, code = $2 WHERE id = $3")
                .bind(true)
                .bind(random_code)
                .bind(person_id)
                .execute(self.conn())
                .await?
                .rows_affected(),
        )?;
        Ok(files)
    }

    pub async fn drop_contacts(&mut self, person_id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE person_identities SET phone = NULL, email = NULL, address = NULL, updated_at = $1 WHERE person_id = $2",
        )
        .bind(crate::rows::now())
        .bind(person_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
