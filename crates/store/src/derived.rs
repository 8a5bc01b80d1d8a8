//! Derived data kept current by construction: the reporting extract (`report_facts`) of an
//! intervention is rewritten in the very transaction that changed what it is derived from.
//! Store methods that change a fact's sources mark the intervention (or the person) stale;
//! `Tx<Write>::commit` rewrites the stale facts before `COMMIT`. No use case has to remember
//! to refresh anything.

use crate::{FactSource, Result, StoreError, Tx, Write};
use percorsi_domain::codes::{Education, Sex, Substance, WorkHistory};
use percorsi_domain::instrument::{
    autonomy_change, AssessmentKind, AutonomyChange, Band, Instrument, Scoring, SectionScore,
};
use percorsi_domain::intervention::{ContractKind, InterruptionReason, OverallEvaluation, PositiveOutcome};
use percorsi_domain::programme::InterventionType;
use percorsi_domain::report::{AgeClass, Ending, Fact, RelapseBucket};
use std::collections::BTreeSet;

/// What is stale in a write transaction.
#[derive(Debug, Default)]
pub(crate) struct Stale {
    interventions: BTreeSet<i64>,
    persons: BTreeSet<i64>,
    /// Bulk loaders that leave the facts to the back-fill of the first report.
    deferred: bool,
}

/// What a live intervention's forms say, for its fact (imported interventions carry theirs).
#[derive(Debug, Default, Clone, Copy)]
pub struct Assessed {
    pub bands: [Option<Band>; 3],
    pub autonomy: Option<AutonomyChange>,
}

fn code<T>(raw: &Option<String>, parse: fn(&str) -> Option<T>) -> Option<T> {
    raw.as_deref().and_then(parse)
}

/// The classified values of one intervention, as the reports count them.
pub fn derive_fact(src: &FactSource, assessed: &Assessed) -> Result<Fact> {
    let kind = InterventionType::parse(&src.intervention_type)
        .ok_or_else(|| StoreError::Corrupt(format!("intervention type {}", src.intervention_type)))?;
    let ending = match src.outcome.as_deref() {
        Some("positivo") => code(&src.positive_kind, PositiveOutcome::parse).map(Ending::Positive),
        Some("interrotto") => code(&src.interruption_reason, InterruptionReason::parse).map(Ending::Interrupted),
        _ => None,
    };
    let substance_use = match (src.legal_substance_use, src.illegal_substance_use) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    };
    let imported = src.imported.as_ref();
    Ok(Fact {
        intervention_id: src.id,
        person_id: src.person_id,
        end: src.actual_end,
        programme_id: src.programme_id,
        organisation_id: src.organisation_id,
        kind,
        start: src.actual_start,
        sex: code(&src.sex, Sex::parse),
        age: src.birth_year.zip(src.actual_start).and_then(|(y, d)| AgeClass::of(y, d)),
        education: code(&src.education, Education::parse),
        work_history: code(&src.work_history, WorkHistory::parse),
        substance_start: code(&src.substance_start, Substance::parse),
        substance_current: code(&src.substance_current, Substance::parse),
        relapses: src.relapse_count.map(RelapseBucket::of),
        substance_use,
        ending,
        contract: code(&src.contract_kind, ContractKind::parse),
        evaluation: code(&src.evaluation, OverallEvaluation::parse),
        section_a: imported.map_or(assessed.bands[0], |i| code(&i.section_a, Band::parse)),
        section_b: imported.map_or(assessed.bands[1], |i| code(&i.section_b, Band::parse)),
        section_c: imported.map_or(assessed.bands[2], |i| code(&i.section_c, Band::parse)),
        autonomy: imported.map_or(assessed.autonomy, |i| code(&i.autonomy_change, AutonomyChange::parse)),
        // Set when the fact enters the report cache (it needs the installation key).
        key: 0,
    })
}

impl Tx<Write> {
    /// The intervention's fact must be rewritten before this transaction commits.
    pub(crate) fn mark_stale(&mut self, intervention_id: i64) {
        self.stale.interventions.insert(intervention_id);
    }

    /// The facts of every intervention of the person must be rewritten (profile, episodes).
    pub(crate) fn mark_person_stale(&mut self, person_id: i64) {
        self.stale.persons.insert(person_id);
    }

    /// For bulk loaders (synthetic data): the facts are written by the back-fill that runs
    /// before the first report instead of one by one at commit.
    pub fn defer_facts(&mut self) {
        self.stale.deferred = true;
    }

    /// Rewrites the stale facts; called by `commit`.
    pub(crate) async fn refresh_stale(&mut self) -> Result<()> {
        if self.stale.deferred {
            return Ok(());
        }
        let persons = std::mem::take(&mut self.stale.persons);
        for person in persons {
            for id in self.intervention_ids_of_person(person).await? {
                self.stale.interventions.insert(id);
            }
        }
        for id in std::mem::take(&mut self.stale.interventions) {
            self.refresh_fact(id).await?;
        }
        Ok(())
    }

    /// Writes the missing facts of many interventions at once (data loaded before the extract
    /// existed, synthetic data): sources in one query, facts in one bulk insert; interventions
    /// with filled forms go one by one.
    pub async fn backfill_facts(&mut self, ids: &[i64]) -> Result<()> {
        // Several app servers may back-fill at once: under the extract's lock, skip what
        // another one wrote meanwhile.
        self.lock_extract().await?;
        let done: BTreeSet<i64> = self.facts_among(ids).await?.into_iter().collect();
        let ids: Vec<i64> = ids.iter().copied().filter(|id| !done.contains(id)).collect();
        let ids = ids.as_slice();
        let assessed: BTreeSet<i64> = self.assessed_among(ids).await?.into_iter().collect();
        let mut facts = Vec::with_capacity(ids.len());
        for src in self.fact_sources(ids).await? {
            if !assessed.contains(&src.id) {
                facts.push(derive_fact(&src, &Assessed::default())?);
            }
        }
        self.insert_facts(&facts, None).await?;
        for id in assessed {
            self.refresh_fact(id).await?;
        }
        Ok(())
    }

    /// Rewrites one intervention's fact from what is stored now.
    pub async fn refresh_fact(&mut self, id: i64) -> Result<()> {
        let Some(src) = self.fact_source(id).await? else { return Ok(()) };
        let mut assessed = Assessed::default();
        if src.imported.is_none() {
            let mut autonomy = [None, None];
            let mut threshold = None;
            for a in self.assessments_of(id).await? {
                let scores: Vec<SectionScore> =
                    serde_json::from_str(&a.scores).map_err(|e| StoreError::Corrupt(format!("stored scores: {e}")))?;
                let slot = match AssessmentKind::parse(&a.kind) {
                    Some(AssessmentKind::PreIntervento) => 0,
                    Some(AssessmentKind::PostIntervento) => 1,
                    _ => continue,
                };
                if slot == 1 {
                    for (i, section) in ["A", "B", "C"].iter().enumerate() {
                        assessed.bands[i] = scores.iter().find(|s| s.section == *section).and_then(|s| s.band);
                    }
                    let rec = self.instrument(a.instrument_id).await?.ok_or(StoreError::NotFound)?;
                    let instrument = Instrument::from_json(&rec.definition)
                        .map_err(|e| StoreError::Corrupt(format!("stored instrument: {e}")))?;
                    threshold = instrument.autonomy_threshold;
                }
                autonomy[slot] = scores.iter().find(|s| s.scoring == Scoring::Autonomy).and_then(|s| s.score);
            }
            assessed.autonomy = autonomy_change(autonomy[0], autonomy[1], threshold.unwrap_or(1));
        }
        let fact = derive_fact(&src, &assessed)?;
        self.upsert_fact(&fact).await
    }
}
