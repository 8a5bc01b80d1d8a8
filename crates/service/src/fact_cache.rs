//! The reporting extract held in memory (ADR 0009): every visible report fact, grouped by
//! programme and organisation, read incrementally by revision and started from the latest
//! checkpoint, a packed copy of the extract kept in the database so that a server starting
//! over a million interventions reads a few large values instead of a million rows.

use crate::{Result, Service, ServiceError};
use chrono::{Datelike, NaiveDate};
use percorsi_domain::report::Fact;
use percorsi_store::StoreError;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::RwLock;

/// Facts per checkpoint block (about 3.5 MB each).
const CHECKPOINT_BLOCK: usize = 65_536;
/// A new checkpoint once this many facts were read since the last one.
const CHECKPOINT_AFTER: usize = 50_000;
/// Bytes of one fact in a checkpoint: revision, intervention, person, programme,
/// organisation, profile (8 bytes each), start and end (days from the Common Era, 4 each).
const RECORD: usize = 56;

/// The reporting extract held in memory: every fact by programme, and the revision read so far.
#[derive(Default)]
pub struct FactCache {
    /// Reports read it in parallel (on the blocking pool); applying new facts takes it briefly.
    pub(crate) state: RwLock<CacheState>,
    /// Whether a checkpoint is being written (one at a time per server).
    checkpointing: AtomicBool,
}

#[derive(Default)]
pub(crate) struct CacheState {
    revision: i64,
    backfilled: bool,
    /// Whether the latest checkpoint was read (the first load starts from it).
    checkpoint_read: bool,
    /// Facts applied since the checkpoint read or written last.
    since_checkpoint: usize,
    /// programme → organisation → its facts: what a report decides per organisation (scope,
    /// filters, who takes part) it decides once per organisation, not once per fact.
    by_programme: FxHashMap<i64, BTreeMap<i64, Vec<Fact>>>,
    /// intervention id → where its fact is.
    position: FxHashMap<i64, Slot>,
}

#[derive(Clone, Copy)]
struct Slot {
    programme: i64,
    organisation: i64,
    index: usize,
    /// The revision of the fact held there: an older read never overwrites a newer one.
    revision: i64,
}

impl CacheState {
    fn apply(&mut self, revision: i64, fact: Fact) {
        let id = fact.intervention_id;
        if let Some(slot) = self.position.get(&id).copied() {
            if slot.revision > revision {
                return;
            }
            let list = self.by_programme.entry(slot.programme).or_default().entry(slot.organisation).or_default();
            if slot.programme == fact.programme_id && slot.organisation == fact.organisation_id {
                list[slot.index] = fact;
                self.position.insert(id, Slot { revision, ..slot });
                return;
            }
            // The intervention moved (another programme or organisation): take it out of the
            // old list, keeping the position of the fact that takes its place.
            list.swap_remove(slot.index);
            if let Some(moved) = list.get(slot.index) {
                let moved_id = moved.intervention_id;
                if let Some(m) = self.position.get_mut(&moved_id) {
                    m.index = slot.index;
                }
            }
        }
        let list = self.by_programme.entry(fact.programme_id).or_default().entry(fact.organisation_id).or_default();
        let slot =
            Slot { programme: fact.programme_id, organisation: fact.organisation_id, index: list.len(), revision };
        list.push(fact);
        self.position.insert(id, slot);
    }

    /// One intervention's fact and the revision it was read at.
    fn fact(&self, intervention_id: i64) -> Option<(i64, &Fact)> {
        let slot = self.position.get(&intervention_id)?;
        let fact = self.by_programme.get(&slot.programme)?.get(&slot.organisation)?.get(slot.index)?;
        Some((slot.revision, fact))
    }

    /// Every fact of a programme, organisation by organisation.
    pub(crate) fn programme(&self, programme_id: i64) -> impl Iterator<Item = (i64, &Vec<Fact>)> {
        self.by_programme.get(&programme_id).into_iter().flat_map(|orgs| orgs.iter().map(|(o, list)| (*o, list)))
    }
}

impl Service {
    /// Reads what changed in the extract since the last report; the first call loads it whole
    /// and writes the facts of interventions recorded before the extract existed.
    pub async fn refresh_cache(&self) -> Result<()> {
        if !self.facts.state.read().await.backfilled {
            self.backfill_facts().await?;
        }
        if !self.facts.state.read().await.checkpoint_read {
            self.read_checkpoint().await?;
        }
        // New facts are read without holding the cache, and applied under a short write lock:
        // reports keep reading meanwhile.
        let revision = self.facts.state.read().await.revision;
        let started = std::time::Instant::now();
        let mut fresh = self.store().facts_since(revision).await?;
        if fresh.facts.is_empty() && fresh.watermark == revision {
            return Ok(());
        }
        let read_ms = started.elapsed().as_millis() as u64;
        let keys = self.record_keys();
        for (_, fact) in fresh.facts.iter_mut() {
            fact.key = keys.of(fact.intervention_id);
        }
        let keyed_ms = started.elapsed().as_millis() as u64;
        let mut state = self.facts.state.write().await;
        // Another request may have applied newer versions meanwhile: each slot keeps the
        // revision it holds, and the watermark only moves forward (a later snapshot's is never
        // lower).
        state.since_checkpoint += fresh.facts.len();
        for (revision, fact) in fresh.facts {
            state.apply(revision, fact);
        }
        state.revision = state.revision.max(fresh.watermark);
        if state.since_checkpoint >= CHECKPOINT_AFTER && !self.facts.checkpointing.swap(true, Ordering::AcqRel) {
            state.since_checkpoint = 0;
            let svc = self.clone();
            tokio::spawn(async move {
                if let Err(e) = svc.write_checkpoint().await {
                    tracing::warn!(error = %e, "could not write a checkpoint of the report extract");
                }
                svc.facts.checkpointing.store(false, Ordering::Release);
            });
        }
        let applied_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(facts = state.position.len(), read_ms, keyed_ms, applied_ms, "report extract refreshed");
        Ok(())
    }

    async fn backfill_facts(&self) -> Result<()> {
        let mut state = self.facts.state.write().await;
        if state.backfilled {
            return Ok(());
        }
        let mut tx = self.store().read().await?;
        // Counting both tables is cheap; looking for the interventions without a fact is not.
        let missing = if tx.facts_missing().await? { tx.interventions_without_fact().await? } else { Vec::new() };
        tx.commit().await?;
        // In short transactions, so that writers are not held up by a large back-fill.
        for batch in missing.chunks(2000) {
            let mut tx = self.store().write().await?;
            tx.backfill_facts(batch).await?;
            tx.commit().await?;
        }
        if !missing.is_empty() {
            tracing::info!(interventions = missing.len(), "report extract back-filled");
        }
        state.backfilled = true;
        Ok(())
    }

    /// Starts the extract from the latest complete checkpoint, if there is one.
    async fn read_checkpoint(&self) -> Result<()> {
        let mut state = self.facts.state.write().await;
        if state.checkpoint_read {
            return Ok(());
        }
        let started = std::time::Instant::now();
        if let Some(mut checkpoint) = self.store().latest_checkpoint().await? {
            let keys = self.record_keys();
            // Sized once: growing a map of a million positions copies it at every doubling.
            state.position.reserve((checkpoint.blocks as usize).saturating_mul(CHECKPOINT_BLOCK));
            let mut n = 0;
            // A pipeline: while one block is applied, the next is read and decoded (its record
            // keys derived) on a blocking thread.
            let decoding = |block: Vec<u8>| {
                let keys = keys.clone();
                tokio::spawn(crate::off_thread(move || -> Result<Vec<(i64, Fact)>> {
                    let mut facts = decode(&block)?;
                    for (_, fact) in facts.iter_mut() {
                        fact.key = keys.of(fact.intervention_id);
                    }
                    Ok(facts)
                }))
            };
            let mut pending = checkpoint.next_block().await?.map(decoding);
            while let Some(task) = pending.take() {
                let next = checkpoint.next_block().await?;
                let facts = task.await.map_err(|e| ServiceError::Broken(format!("checkpoint decoding: {e}")))???;
                pending = next.map(decoding);
                for (revision, fact) in facts {
                    state.apply(revision, fact);
                    n += 1;
                }
            }
            let revision = checkpoint.revision;
            state.revision = state.revision.max(revision);
            checkpoint.finish().await?;
            tracing::debug!(
                facts = n,
                revision,
                ms = started.elapsed().as_millis() as u64,
                "report extract checkpoint read"
            );
        }
        state.checkpoint_read = true;
        Ok(())
    }

    /// Brings the extract up to date and writes a checkpoint of it now (servers also write one
    /// by themselves every `CHECKPOINT_AFTER` facts).
    pub async fn checkpoint_report_extract(&self) -> Result<()> {
        self.refresh_cache().await?;
        self.write_checkpoint().await
    }

    /// Writes the extract as it stands as a new checkpoint, a block per short transaction,
    /// then drops the older ones. Every visible fact up to the extract's revision is in it.
    pub(crate) async fn write_checkpoint(&self) -> Result<()> {
        let (revision, ids) = {
            let state = self.facts.state.read().await;
            let mut ids: Vec<i64> = state.position.keys().copied().collect();
            ids.sort_unstable();
            (state.revision, ids)
        };
        if ids.is_empty() {
            return Ok(());
        }
        let blocks = ids.len().div_ceil(CHECKPOINT_BLOCK) as i64;
        for (i, chunk) in ids.chunks(CHECKPOINT_BLOCK).enumerate() {
            let data = {
                let state = self.facts.state.read().await;
                let mut out = Vec::with_capacity(chunk.len() * RECORD);
                for id in chunk {
                    if let Some((revision, fact)) = state.fact(*id) {
                        encode(revision, fact, &mut out);
                    }
                }
                out
            };
            let mut tx = self.store().write().await?;
            match tx.write_checkpoint_block(revision, i as i64, blocks, &data).await {
                // Another server wrote this checkpoint: it holds the same facts.
                Err(StoreError::Duplicate) => return Ok(()),
                other => other?,
            }
            tx.commit().await?;
        }
        let mut tx = self.store().write().await?;
        tx.drop_checkpoints_before(revision).await?;
        tx.commit().await?;
        tracing::info!(facts = ids.len(), revision, "report extract checkpoint written");
        Ok(())
    }
}

fn days(d: Option<NaiveDate>) -> i32 {
    d.map_or(i32::MIN, |d| d.num_days_from_ce())
}

fn encode(revision: i64, f: &Fact, out: &mut Vec<u8>) {
    for v in [revision, f.intervention_id, f.person_id, f.programme_id, f.organisation_id, f.profile()] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&days(f.start).to_le_bytes());
    out.extend_from_slice(&days(f.end).to_le_bytes());
}

fn decode(block: &[u8]) -> Result<Vec<(i64, Fact)>> {
    let corrupt = |what: &str| ServiceError::Broken(format!("report extract checkpoint: {what}"));
    if !block.len().is_multiple_of(RECORD) {
        return Err(corrupt("truncated block"));
    }
    let mut out = Vec::with_capacity(block.len() / RECORD);
    for record in block.chunks_exact(RECORD) {
        let int = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&record[i * 8..i * 8 + 8]);
            i64::from_le_bytes(b)
        };
        let date = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&record[at..at + 4]);
            match i32::from_le_bytes(b) {
                i32::MIN => Ok(None),
                d => NaiveDate::from_num_days_from_ce_opt(d).map(Some).ok_or_else(|| corrupt("date out of range")),
            }
        };
        let (revision, id, person, programme, organisation, profile) = (int(0), int(1), int(2), int(3), int(4), int(5));
        let fact = Fact::unpack(id, programme, organisation, date(48)?, profile).ok_or_else(|| corrupt("profile"))?;
        out.push((revision, Fact { person_id: person, end: date(52)?, ..fact }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use percorsi_domain::programme::InterventionType;

    fn fact(intervention_id: i64, programme_id: i64, organisation_id: i64) -> Fact {
        Fact::unclassified(intervention_id, programme_id, organisation_id, InterventionType::ALL[0])
    }

    fn ids(state: &CacheState, programme: i64) -> Vec<(i64, Vec<i64>)> {
        state.programme(programme).map(|(o, l)| (o, l.iter().map(|f| f.intervention_id).collect())).collect()
    }

    #[test]
    fn a_checkpoint_gives_back_every_fact_and_its_revision() {
        let mut full = Fact::unclassified(7, 2, 30, InterventionType::ALL[1]);
        full.person_id = 99;
        full.start = NaiveDate::from_ymd_opt(2016, 2, 29);
        full.end = NaiveDate::from_ymd_opt(2017, 1, 1);
        full.age = Some(percorsi_domain::report::AgeClass::Da30a39);
        full.ending =
            Some(percorsi_domain::report::Ending::Positive(percorsi_domain::intervention::PositiveOutcome::ALL[0]));
        let bare = fact(8, 3, 40);
        let mut block = Vec::new();
        encode(5, &full, &mut block);
        encode(6, &bare, &mut block);
        assert_eq!(block.len(), 2 * RECORD);
        assert_eq!(decode(&block).expect("decodes"), vec![(5, full), (6, bare)]);
        assert!(decode(&block[..RECORD + 3]).is_err(), "a truncated block is refused, not half read");
    }

    #[test]
    fn a_fact_is_kept_once_where_its_intervention_now_is() {
        let mut state = CacheState::default();
        for (rev, id) in [(1, 10), (2, 11), (3, 12)] {
            state.apply(rev, fact(id, 1, 100));
        }
        state.apply(4, fact(11, 1, 100));
        assert_eq!(ids(&state, 1), vec![(100, vec![10, 11, 12])], "an update replaces in place");
        // 10 moves to another organisation, then 12 to another programme: each leaves its old
        // list, and the fact that took its slot is still found and updated in place.
        state.apply(5, fact(10, 1, 200));
        state.apply(6, fact(12, 2, 100));
        state.apply(7, fact(12, 2, 100));
        assert_eq!(ids(&state, 1), vec![(100, vec![11]), (200, vec![10])]);
        assert_eq!(ids(&state, 2), vec![(100, vec![12])]);
        // A read from an older snapshot, applied late, does not bring back what 11 was.
        state.apply(3, fact(11, 3, 300));
        assert_eq!(ids(&state, 1), vec![(100, vec![11]), (200, vec![10])]);
        assert!(ids(&state, 3).is_empty());
    }
}
