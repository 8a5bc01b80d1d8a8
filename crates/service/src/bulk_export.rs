//! FHIR bulk data export (`Group/{programme}/$export`, ADR 0019) of the analyst's pseudonymised
//! extract: the same k-anonymous rows as the CSV extract (ADR 0014), with person codes keyed
//! for this export only, as NDJSON files of Patient and EpisodeOfCare resources. Generalised
//! periods (quarters, years) that a FHIR date cannot say stay in an extension, never rounded
//! into a false precision.

use crate::policy::{self, Permission};
use crate::reports::{ExtractRow, ReportQuery};
use crate::{Actor, Result, Service, ServiceError};
use chrono::{Duration, Utc};
use percorsi_store::BulkFile;
use serde::Serialize;

/// How long an export's files are kept for the user to fetch.
pub const KEPT_HOURS: i64 = 24;
const TYPES: [&str; 2] = ["EpisodeOfCare", "Patient"];
/// Resources per file: about 90 MB of EpisodeOfCare. One file per type held over 1 GB at a
/// million interventions, past what SQLite stores in one value.
const PER_FILE: usize = 100_000;

/// A status request's answer.
#[derive(Debug, Clone)]
pub enum BulkStatus {
    /// The files are being written (since `since`).
    InProgress { since: String },
    /// Writing them failed, or the server writing them stopped before the end.
    Failed { error: String },
    /// The files, by resource type and part, with how many resources each holds.
    Complete { transaction_time: String, request: String, files: Vec<BulkFile> },
}

/// An export still in progress after this long was interrupted (its server stopped).
const INTERRUPTED_AFTER_MINUTES: i64 = 60;

/// `YYYY` or `YYYY-MM` stay FHIR dates; a quarter (`2026-Q1`) does not.
fn fhir_date(period: &str) -> Option<&str> {
    let ok = match period.len() {
        4 => period.chars().all(|c| c.is_ascii_digit()),
        7 => period.as_bytes()[4] == b'-' && period.chars().filter(char::is_ascii_digit).count() == 6,
        _ => false,
    };
    ok.then_some(period)
}

/// One extension of an exported resource (`valueCode`, `valueString` or `valueBoolean`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Extension<'a> {
    url: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_string: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_boolean: Option<bool>,
}

fn code<'a>(url: &'static str, value: Option<&'a str>) -> Option<Extension<'a>> {
    value.map(|v| Extension { url, value_code: Some(v), value_string: None, value_boolean: None })
}

#[derive(Serialize)]
struct Coding<'a> {
    system: &'static str,
    code: &'a str,
}

#[derive(Serialize)]
struct Concept<'a> {
    coding: [Coding<'a>; 1],
}

#[derive(Serialize)]
struct Reference {
    reference: String,
}

#[derive(Serialize)]
struct Display<'a> {
    display: &'a str,
}

#[derive(Serialize, Default)]
struct Period<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<&'a str>,
}

/// The resources are written straight from the rows: a million of them as `serde_json::Value`
/// trees took seconds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PatientOut<'a> {
    resource_type: &'static str,
    id: &'a str,
    gender: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extension: Vec<Extension<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EpisodeOut<'a> {
    resource_type: &'static str,
    id: String,
    status: &'static str,
    #[serde(rename = "type")]
    kind: [Concept<'a>; 1],
    patient: Reference,
    managing_organization: Display<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<Period<'a>>,
    extension: Vec<Extension<'a>>,
}

macro_rules! ext_url {
    ($name:literal) => {
        concat!("urn:percorsi:fhir:StructureDefinition:", $name)
    };
}

fn patient(r: &ExtractRow) -> PatientOut<'_> {
    PatientOut {
        resource_type: "Patient",
        id: &r.person_code,
        gender: match r.sex.as_deref() {
            Some("M") => "male",
            Some("F") => "female",
            _ => "unknown",
        },
        extension: [
            code(ext_url!("classe-eta"), r.age_class.as_deref()),
            code(ext_url!("titolo-studio"), r.education.as_deref()),
            code(ext_url!("esperienza-lavorativa"), r.work_history.as_deref()),
        ]
        .into_iter()
        .flatten()
        .collect(),
    }
}

fn episode(n: usize, r: &ExtractRow) -> EpisodeOut<'_> {
    let mut period = Period::default();
    let mut extension = Vec::with_capacity(16);
    for (value, slot, url) in [
        (&r.start_month, &mut period.start, ext_url!("periodo-start")),
        (&r.end_month, &mut period.end, ext_url!("periodo-end")),
    ] {
        if let Some(v) = value.as_deref() {
            match fhir_date(v) {
                Some(d) => *slot = Some(d),
                None => extension.push(Extension { url, value_code: None, value_string: Some(v), value_boolean: None }),
            }
        }
    }
    extension.extend(
        [
            code(ext_url!("tipo-ente"), Some(&r.organisation_kind)),
            code(ext_url!("stato"), Some(&r.status)),
            code(ext_url!("esito"), r.outcome.as_deref()),
            code(ext_url!("sostanza-inizio"), r.substance_start.as_deref()),
            code(ext_url!("sostanza-attuale"), r.substance_current.as_deref()),
            code(ext_url!("ricadute"), r.relapses.as_deref()),
            code(ext_url!("contratto"), r.contract_kind.as_deref()),
            code(ext_url!("valutazione"), r.evaluation.as_deref()),
            code(ext_url!("sezione-a"), r.section_a.as_deref()),
            code(ext_url!("sezione-b"), r.section_b.as_deref()),
            code(ext_url!("sezione-c"), r.section_c.as_deref()),
            code(ext_url!("variazione-autonomia"), r.autonomy_change.as_deref()),
        ]
        .into_iter()
        .flatten(),
    );
    if let Some(used) = r.substance_use {
        extension.push(Extension {
            url: ext_url!("uso-sostanze"),
            value_code: None,
            value_string: None,
            value_boolean: Some(used),
        });
    }
    EpisodeOut {
        resource_type: "EpisodeOfCare",
        id: format!("{}-{n}", r.person_code),
        status: if r.end_month.is_some() { "finished" } else { "active" },
        kind: [Concept { coding: [Coding { system: "urn:percorsi:tipo-intervento", code: &r.intervention_type }] }],
        patient: Reference { reference: format!("Patient/{}", r.person_code) },
        managing_organization: Display { display: &r.organisation },
        period: (period.start.is_some() || period.end.is_some()).then_some(period),
        extension,
    }
}

fn line<T: Serialize>(out: &mut Vec<u8>, resource: &T) {
    // Serialising plain structs into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, resource).is_ok() {
        out.push(b'\n');
    }
}

/// The NDJSON files of an extract: one Patient per person code, one EpisodeOfCare per row,
/// each type cut into files of at most `per_file` resources.
pub fn ndjson(rows: &[ExtractRow], per_file: usize) -> Vec<(BulkFile, String)> {
    let per_file = per_file.max(1);
    let mut files = Vec::new();
    let mut patients = Parts::new("Patient", per_file);
    let mut episodes = Parts::new("EpisodeOfCare", per_file);
    let mut seen = rustc_hash::FxHashSet::default();
    for (n, r) in rows.iter().enumerate() {
        if seen.insert(r.person_code.as_str()) {
            patients.push(&patient(r), &mut files);
        }
        episodes.push(&episode(n + 1, r), &mut files);
    }
    patients.close(&mut files);
    episodes.close(&mut files);
    files
}

/// The files of one resource type, written as they fill.
struct Parts {
    kind: &'static str,
    per_file: usize,
    part: i64,
    count: usize,
    body: Vec<u8>,
}

impl Parts {
    fn new(kind: &'static str, per_file: usize) -> Parts {
        Parts { kind, per_file, part: 0, count: 0, body: Vec::new() }
    }

    fn push<T: Serialize>(&mut self, resource: &T, files: &mut Vec<(BulkFile, String)>) {
        line(&mut self.body, resource);
        self.count += 1;
        if self.count == self.per_file {
            self.finish(files);
        }
    }

    /// The last part; a type with no resources at all still has its (empty) file.
    fn close(&mut self, files: &mut Vec<(BulkFile, String)>) {
        if self.count > 0 || self.part == 0 {
            self.finish(files);
        }
    }

    fn finish(&mut self, files: &mut Vec<(BulkFile, String)>) {
        self.part += 1;
        let file = BulkFile { resource_type: self.kind.to_string(), part: self.part, resources: self.count as i64 };
        // Serialised JSON is UTF-8.
        files.push((file, String::from_utf8(std::mem::take(&mut self.body)).unwrap_or_default()));
        self.count = 0;
    }
}

fn cutoff() -> String {
    crate::audit::hours_ago(KEPT_HOURS)
}

impl Service {
    /// Accepts a bulk export of a programme's extract (`types` narrows the resource types,
    /// `_type`): checks who asks and what, records the export in progress and returns its id;
    /// [`Self::fhir_bulk_run`] then writes the files, in the background.
    pub async fn fhir_bulk_start(
        &self,
        actor: &Actor,
        programme_id: i64,
        types: &[String],
        request: &str,
    ) -> Result<i64> {
        policy::require(actor, Permission::ExtractData)?;
        policy::require_recent_authentication(actor)?;
        if let Some(unknown) = types.iter().find(|t| !TYPES.contains(&t.as_str())) {
            return Err(percorsi_domain::Invalid(vec![
                percorsi_domain::FieldError::new("_type", "err-unknown-code").arg("value", unknown.clone())
            ])
            .into());
        }
        let mut tx = self.store().write().await?;
        tx.programme(programme_id).await?.ok_or(ServiceError::NotFound)?;
        let id = tx.insert_bulk_export(actor.user_id, programme_id, request).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Writes the files of an accepted export (audited as the extract is); a failure is kept
    /// on the export for its status request to report.
    pub async fn fhir_bulk_run(&self, actor: &Actor, id: i64, programme_id: i64, types: &[String]) -> Result<()> {
        let started = std::time::Instant::now();
        let written = async {
            let q = ReportQuery { programme_id: programme_id.to_string(), ..ReportQuery::default() };
            let extract = self.extract(actor, &q, "fhir-ndjson").await?;
            let extracted = started.elapsed();
            let files: Vec<_> = ndjson(&extract.rows, PER_FILE)
                .into_iter()
                .filter(|(f, _)| types.is_empty() || types.contains(&f.resource_type))
                .collect();
            let serialised = started.elapsed();
            // A transaction per file: at a million interventions the files are about 1 GB, and
            // one transaction would hold SQLite's single writer for seconds (ADR 0012). The
            // export is served only once the last step marks it complete.
            for (file, body) in &files {
                let mut tx = self.store().write().await?;
                tx.insert_bulk_file(id, file, body).await?;
                tx.commit().await?;
            }
            let mut tx = self.store().write().await?;
            tx.complete_bulk_export(id).await?;
            tx.commit().await?;
            tracing::info!(
                export = id,
                files = files.len(),
                extract_ms = extracted.as_millis() as u64,
                ndjson_ms = (serialised - extracted).as_millis() as u64,
                total_ms = started.elapsed().as_millis() as u64,
                "FHIR bulk export written"
            );
            Ok::<_, ServiceError>(())
        }
        .await;
        // Whatever failed (the extract, the files, storing them), the export says so: its
        // status request answers with the error instead of "in progress" until it expires.
        if let Err(e) = &written {
            tracing::warn!(export = id, error = %e, "FHIR bulk export failed");
            let mut tx = self.store().write().await?;
            tx.fail_bulk_export(id, &e.to_string()).await?;
            tx.commit().await?;
        }
        written
    }

    /// A whole export at once (the bench and tests that need its files).
    pub async fn fhir_bulk_export(
        &self,
        actor: &Actor,
        programme_id: i64,
        types: &[String],
        request: &str,
    ) -> Result<i64> {
        let id = self.fhir_bulk_start(actor, programme_id, types, request).await?;
        self.fhir_bulk_run(actor, id, programme_id, types).await?;
        Ok(id)
    }

    /// An export of the actor's that is still kept.
    pub async fn fhir_bulk_status(&self, actor: &Actor, id: i64) -> Result<BulkStatus> {
        policy::require(actor, Permission::ExtractData)?;
        let mut tx = self.store().read().await?;
        let e = tx.bulk_export(actor.user_id, id, &cutoff()).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        let stale = crate::audit::ts(Utc::now() - Duration::minutes(INTERRUPTED_AFTER_MINUTES));
        Ok(match (e.completed_at, e.error) {
            (_, Some(error)) => BulkStatus::Failed { error },
            (Some(at), None) => BulkStatus::Complete { transaction_time: at, request: e.request, files: e.files },
            (None, None) if e.created_at < stale => {
                BulkStatus::Failed { error: "the export was interrupted: ask for it again".into() }
            }
            (None, None) => BulkStatus::InProgress { since: e.created_at },
        })
    }

    pub async fn fhir_bulk_file(&self, actor: &Actor, id: i64, resource_type: &str, part: i64) -> Result<String> {
        policy::require(actor, Permission::ExtractData)?;
        let mut tx = self.store().read().await?;
        let export = tx.bulk_export(actor.user_id, id, &cutoff()).await?.ok_or(ServiceError::NotFound)?;
        // Files of an export still being written, or of one that failed half-way, are not served.
        if export.completed_at.is_none() || export.error.is_some() {
            return Err(ServiceError::NotFound);
        }
        let body = tx.bulk_export_file(id, resource_type, part).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(body)
    }

    /// Deletes the exports past their day (the serve loop, hourly).
    pub async fn purge_bulk_exports(&self) -> Result<()> {
        let mut tx = self.store().write().await?;
        tx.delete_bulk_exports(0, 0, &cutoff()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the actor's export (and any export past its day).
    pub async fn fhir_bulk_delete(&self, actor: &Actor, id: i64) -> Result<()> {
        policy::require(actor, Permission::ExtractData)?;
        let mut tx = self.store().write().await?;
        let found = tx.delete_bulk_exports(actor.user_id, id, &cutoff()).await?;
        tx.commit().await?;
        if found {
            Ok(())
        } else {
            Err(ServiceError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_fhir_dates_become_periods() {
        assert_eq!(fhir_date("2026"), Some("2026"));
        assert_eq!(fhir_date("2026-03"), Some("2026-03"));
        assert_eq!(fhir_date("2026-Q1"), None);
        assert_eq!(fhir_date("26-03"), None);
    }

    fn row(code: &str) -> ExtractRow {
        ExtractRow {
            person_code: code.to_string(),
            organisation: "Ente".into(),
            intervention_type: "socio_terapeutico".into(),
            ..ExtractRow::default()
        }
    }

    #[test]
    fn each_type_is_cut_into_files_of_at_most_the_given_number_of_resources() {
        // Five rows of three people: 3 Patients and 5 EpisodeOfCare, two per file.
        let rows: Vec<ExtractRow> = ["A", "A", "B", "C", "C"].iter().map(|c| row(c)).collect();
        let files = ndjson(&rows, 2);
        let shape: Vec<(&str, i64, i64)> =
            files.iter().map(|(f, _)| (f.resource_type.as_str(), f.part, f.resources)).collect();
        assert_eq!(
            shape,
            [
                ("EpisodeOfCare", 1, 2),
                ("Patient", 1, 2),
                ("EpisodeOfCare", 2, 2),
                ("Patient", 2, 1),
                ("EpisodeOfCare", 3, 1)
            ]
        );
        for (f, body) in &files {
            assert_eq!(body.lines().count() as i64, f.resources, "{f:?}");
        }
        let whole = ndjson(&rows, 100);
        assert_eq!(whole.len(), 2, "one file per type when they fit");
        let none: Vec<(String, i64)> =
            ndjson(&[], 2).into_iter().map(|(f, b)| (f.resource_type, f.resources + b.len() as i64)).collect();
        assert_eq!(
            none,
            [("Patient".to_string(), 0), ("EpisodeOfCare".to_string(), 0)],
            "empty types keep an empty file"
        );
        let joined = |files: &[(BulkFile, String)], kind: &str| {
            files.iter().filter(|(f, _)| f.resource_type == kind).map(|(_, b)| b.as_str()).collect::<String>()
        };
        for kind in TYPES {
            assert_eq!(joined(&files, kind), joined(&whole, kind), "the parts are the whole, in order");
        }
    }
}
