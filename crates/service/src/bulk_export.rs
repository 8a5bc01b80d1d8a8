//! FHIR bulk data export (`Group/{programme}/$export`, ADR 0019) of the analyst's pseudonymised
//! extract: the same k-anonymous rows as the CSV extract (ADR 0014), with person codes keyed
//! for this export only, as NDJSON files of Patient and EpisodeOfCare resources. Generalised
//! periods (quarters, years) that a FHIR date cannot say stay in an extension, never rounded
//! into a false precision.

use crate::policy::{self, Permission};
use crate::reports::{ExtractRow, ReportQuery};
use crate::{Actor, Result, Service, ServiceError};
use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

/// How long an export's files are kept for the user to fetch.
pub const KEPT_HOURS: i64 = 24;
const EXT: &str = "urn:percorsi:fhir:StructureDefinition";
const TYPES: [&str; 2] = ["EpisodeOfCare", "Patient"];

/// A status request's answer.
#[derive(Debug, Clone)]
pub enum BulkStatus {
    /// The files are being written (since `since`).
    InProgress { since: String },
    /// Writing them failed, or the server writing them stopped before the end.
    Failed { error: String },
    /// The files, by resource type, with how many resources each holds.
    Complete { transaction_time: String, request: String, files: Vec<(String, i64)> },
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

fn code_extension(name: &str, value: &Option<String>) -> Option<Value> {
    value.as_ref().map(|v| json!({ "url": format!("{EXT}:{name}"), "valueCode": v }))
}

fn patient(r: &ExtractRow) -> Value {
    let mut p = json!({
        "resourceType": "Patient",
        "id": r.person_code,
        "gender": match r.sex.as_deref() { Some("M") => "male", Some("F") => "female", _ => "unknown" },
    });
    let ext: Vec<Value> = [
        code_extension("classe-eta", &r.age_class),
        code_extension("titolo-studio", &r.education),
        code_extension("esperienza-lavorativa", &r.work_history),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !ext.is_empty() {
        p["extension"] = Value::Array(ext);
    }
    p
}

fn episode(n: usize, r: &ExtractRow) -> Value {
    let mut e = json!({
        "resourceType": "EpisodeOfCare",
        "id": format!("{}-{n}", r.person_code),
        "status": if r.end_month.is_some() { "finished" } else { "active" },
        "type": [{ "coding": [{ "system": "urn:percorsi:tipo-intervento", "code": r.intervention_type }] }],
        "patient": { "reference": format!("Patient/{}", r.person_code) },
        "managingOrganization": { "display": r.organisation },
    });
    let mut period = serde_json::Map::new();
    let mut ext: Vec<Value> = Vec::new();
    for (key, value) in [("start", &r.start_month), ("end", &r.end_month)] {
        if let Some(v) = value.as_deref() {
            match fhir_date(v) {
                Some(d) => {
                    period.insert(key.into(), json!(d));
                }
                None => ext.push(json!({ "url": format!("{EXT}:periodo-{key}"), "valueString": v })),
            }
        }
    }
    if !period.is_empty() {
        e["period"] = Value::Object(period);
    }
    ext.extend(
        [
            code_extension("tipo-ente", &Some(r.organisation_kind.clone())),
            code_extension("stato", &Some(r.status.clone())),
            code_extension("esito", &r.outcome),
            code_extension("sostanza-inizio", &r.substance_start),
            code_extension("sostanza-attuale", &r.substance_current),
            code_extension("ricadute", &r.relapses),
            code_extension("contratto", &r.contract_kind),
            code_extension("valutazione", &r.evaluation),
            code_extension("sezione-a", &r.section_a),
            code_extension("sezione-b", &r.section_b),
            code_extension("sezione-c", &r.section_c),
            code_extension("variazione-autonomia", &r.autonomy_change),
        ]
        .into_iter()
        .flatten(),
    );
    if let Some(used) = r.substance_use {
        ext.push(json!({ "url": format!("{EXT}:uso-sostanze"), "valueBoolean": used }));
    }
    e["extension"] = Value::Array(ext);
    e
}

/// The NDJSON files of an extract: one Patient per person code, one EpisodeOfCare per row.
pub fn ndjson(rows: &[ExtractRow]) -> Vec<(&'static str, i64, String)> {
    let mut patients = String::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut episodes = String::new();
    for (n, r) in rows.iter().enumerate() {
        if seen.insert(r.person_code.as_str()) {
            patients.push_str(&patient(r).to_string());
            patients.push('\n');
        }
        episodes.push_str(&episode(n + 1, r).to_string());
        episodes.push('\n');
    }
    vec![("Patient", seen.len() as i64, patients), ("EpisodeOfCare", rows.len() as i64, episodes)]
}

fn cutoff() -> String {
    (Utc::now() - Duration::hours(KEPT_HOURS)).to_rfc3339_opts(SecondsFormat::Micros, true)
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
        let files = async {
            let q = ReportQuery { programme_id: programme_id.to_string(), ..ReportQuery::default() };
            let extract = self.extract(actor, &q, "fhir-ndjson").await?;
            Ok::<_, ServiceError>(
                ndjson(&extract.rows)
                    .into_iter()
                    .filter(|(t, _, _)| types.is_empty() || types.iter().any(|x| x == t))
                    .collect::<Vec<_>>(),
            )
        }
        .await;
        let mut tx = self.store().write().await?;
        match &files {
            Ok(files) => tx.complete_bulk_export(id, files).await?,
            Err(e) => {
                tracing::warn!(export = id, error = %e, "FHIR bulk export failed");
                tx.fail_bulk_export(id, &e.to_string()).await?
            }
        }
        tx.commit().await?;
        files.map(|_| ())
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
        let stale =
            (Utc::now() - Duration::minutes(INTERRUPTED_AFTER_MINUTES)).to_rfc3339_opts(SecondsFormat::Micros, true);
        Ok(match (e.completed_at, e.error) {
            (_, Some(error)) => BulkStatus::Failed { error },
            (Some(at), None) => BulkStatus::Complete { transaction_time: at, request: e.request, files: e.files },
            (None, None) if e.created_at < stale => {
                BulkStatus::Failed { error: "the export was interrupted: ask for it again".into() }
            }
            (None, None) => BulkStatus::InProgress { since: e.created_at },
        })
    }

    pub async fn fhir_bulk_file(&self, actor: &Actor, id: i64, resource_type: &str) -> Result<String> {
        policy::require(actor, Permission::ExtractData)?;
        let mut tx = self.store().read().await?;
        tx.bulk_export(actor.user_id, id, &cutoff()).await?.ok_or(ServiceError::NotFound)?;
        let body = tx.bulk_export_file(id, resource_type).await?.ok_or(ServiceError::NotFound)?;
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
}
