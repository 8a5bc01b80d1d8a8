//! The audit trail's hash chain: each entry's hash covers its content and the previous hash,
//! so changing, removing or reordering any entry breaks every link after it.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash that precedes the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry as it is hashed and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// UTC timestamp, RFC 3339 with microseconds.
    pub at: String,
    pub user_id: Option<i64>,
    pub username: String,
    pub organisation_id: Option<i64>,
    pub role: Option<String>,
    /// What was done: `read`, `create`, `update`, `export`, `login`, …
    pub action: String,
    /// What it was done to: `person`, `care_episode`, …
    pub entity: String,
    pub entity_id: Option<String>,
    /// Why: the purpose declared or implied by the operation.
    pub reason: Option<String>,
    pub detail: Option<String>,
    /// The person the entry concerns, when it concerns one.
    pub person_id: Option<i64>,
}

impl AuditEntry {
    /// The same entry, recorded as concerning `person_id` (found by the auditor's person filter).
    pub fn about(self, person_id: i64) -> AuditEntry {
        AuditEntry { person_id: Some(person_id), ..self }
    }

    /// The entry's hash given the previous entry's hash.
    pub fn link_hash(&self, prev_hash: &str) -> String {
        let opt_i = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        let opt_s = |v: &Option<String>| v.clone().unwrap_or_default();
        // Unit separators keep field boundaries unambiguous ("ab"+"c" ≠ "a"+"bc").
        let canonical = [
            prev_hash.to_string(),
            self.at.clone(),
            opt_i(self.user_id),
            self.username.clone(),
            opt_i(self.organisation_id),
            opt_s(&self.role),
            self.action.clone(),
            self.entity.clone(),
            opt_s(&self.entity_id),
            opt_s(&self.reason),
            opt_s(&self.detail),
        ]
        .join("\u{1f}");
        // Entries written before the person was recorded hash as they always did.
        let canonical = match self.person_id {
            Some(p) => format!("{canonical}\u{1f}person={p}"),
            None => canonical,
        };
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }
}

/// Where a chain first fails verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BrokenLink {
    pub id: i64,
    pub reason: &'static str,
}

/// Checks stored entries `(id, entry, prev_hash, hash)` in id order; `None` when intact.
pub fn verify<'a>(
    rows: impl IntoIterator<Item = (i64, &'a AuditEntry, &'a str, &'a str)>,
    start_prev: &str,
) -> Option<BrokenLink> {
    let mut expected_prev = start_prev.to_string();
    for (id, entry, prev, hash) in rows {
        if prev != expected_prev {
            return Some(BrokenLink { id, reason: "prev_hash_mismatch" });
        }
        if entry.link_hash(prev) != hash {
            return Some(BrokenLink { id, reason: "content_hash_mismatch" });
        }
        expected_prev = hash.to_string();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            at: "2026-11-24T10:00:00.000000Z".into(),
            user_id: Some(1),
            username: "anna".into(),
            organisation_id: Some(2),
            role: Some("case_manager".into()),
            action: action.into(),
            entity: "person".into(),
            entity_id: Some("7".into()),
            reason: None,
            detail: None,
            person_id: None,
        }
    }

    #[test]
    fn the_person_is_covered_by_the_hash_and_older_entries_hash_as_before() {
        let plain = entry("read");
        let about = AuditEntry { person_id: Some(7), ..entry("read") };
        assert_ne!(plain.link_hash(GENESIS), about.link_hash(GENESIS), "the person is part of the entry");
        let moved = AuditEntry { person_id: Some(8), ..entry("read") };
        assert_ne!(about.link_hash(GENESIS), moved.link_hash(GENESIS), "changing the person breaks the link");
        // The hash of an entry without a person is the one computed before the column existed.
        let canonical =
            [GENESIS, "2026-11-24T10:00:00.000000Z", "1", "anna", "2", "case_manager", "read", "person", "7", "", ""]
                .join("\u{1f}");
        assert_eq!(plain.link_hash(GENESIS), hex::encode(Sha256::digest(canonical.as_bytes())));
    }

    fn chain(entries: &[AuditEntry]) -> Vec<(i64, AuditEntry, String, String)> {
        let mut prev = GENESIS.to_string();
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let h = e.link_hash(&prev);
                let row = (i as i64 + 1, e.clone(), prev.clone(), h.clone());
                prev = h;
                row
            })
            .collect()
    }

    fn check(rows: &[(i64, AuditEntry, String, String)]) -> Option<BrokenLink> {
        verify(rows.iter().map(|(id, e, p, h)| (*id, e, p.as_str(), h.as_str())), GENESIS)
    }

    #[test]
    fn intact_chain_verifies() {
        let rows = chain(&[entry("read"), entry("update"), entry("export")]);
        assert_eq!(check(&rows), None);
    }

    #[test]
    fn edited_entry_is_found() {
        let mut rows = chain(&[entry("read"), entry("update"), entry("export")]);
        rows[1].1.action = "read".into();
        assert_eq!(check(&rows), Some(BrokenLink { id: 2, reason: "content_hash_mismatch" }));
    }

    #[test]
    fn removed_entry_is_found() {
        let mut rows = chain(&[entry("read"), entry("update"), entry("export")]);
        rows.remove(1);
        assert_eq!(check(&rows), Some(BrokenLink { id: 3, reason: "prev_hash_mismatch" }));
    }

    #[test]
    fn field_boundaries_matter() {
        let mut a = entry("read");
        let mut b = entry("read");
        a.username = "ab".into();
        a.role = Some("c".into());
        b.username = "a".into();
        b.role = Some("bc".into());
        assert_ne!(a.link_hash(GENESIS), b.link_hash(GENESIS));
    }
}
