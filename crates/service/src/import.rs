//! Importing a historical programme from a CSV file (format: `docs/import-format.md`).
//! All or nothing: every row is checked first; one error anywhere and nothing is written, and
//! the report names each wrong cell (line, column, value, why). Rows already imported with the
//! same content are recognised and skipped, so importing a file twice changes nothing.

use crate::audit::{record, record_system};
use crate::policy::{self, Permission};
use crate::reports::{fact_of, Assessed};
use crate::{Actor, Result, Service, ServiceError};
use chrono::Months;
use percorsi_domain::codes::OrganisationKind;
use percorsi_domain::history::{self, HistoricalRow, AUTONOMY_CHANGE, COLUMNS, REQUIRED};
use percorsi_domain::instrument::{autonomy_change, AssessmentKind, AutonomyChange};
use percorsi_domain::intervention::InterventionStatus;
use percorsi_domain::programme::InterventionType;
use percorsi_domain::report::{Ending, Fact};
use percorsi_domain::FieldError;
use percorsi_store::{FactSource, ImportedResults, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// Errors listed in full up to this many; beyond it only counted.
pub const MAX_LISTED_ERRORS: usize = 500;

/// One wrong cell (or a wrong line, when `column` is empty).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// Line in the file, the header being line 1.
    pub line: u64,
    pub column: String,
    pub value: String,
    /// Message id (`err-…`), with its arguments.
    pub key: String,
    pub args: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportOutcome {
    pub file_name: String,
    pub rows: usize,
    /// Interventions written by this import.
    pub added: usize,
    /// Rows found already imported with the same content.
    pub present: usize,
    pub persons_added: usize,
    /// Whether anything was written (false whenever there is an error).
    pub written: bool,
    pub error_count: usize,
    pub errors: Vec<RowError>,
}

impl ImportOutcome {
    fn error(&mut self, line: u64, column: &str, value: &str, e: &FieldError) {
        self.error_count += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(RowError {
                line,
                column: column.to_string(),
                value: value.to_string(),
                key: e.key.to_string(),
                args: e.args.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            });
        }
    }
}

/// Who imports: a signed-in analyst, or an account named on the command line.
pub enum Importer<'a> {
    User(&'a Actor),
    Cli { username: &'a str },
}

struct Org {
    id: i64,
}

impl Service {
    pub async fn import_history(
        &self,
        importer: Importer<'_>,
        programme_id: i64,
        file_name: &str,
        data: &[u8],
    ) -> Result<ImportOutcome> {
        let user_id = match &importer {
            Importer::User(a) => {
                policy::require(a, Permission::ImportHistory)?;
                a.user_id
            }
            Importer::Cli { username } => {
                let mut tx = self.store().write().await?;
                let u = tx.user_by_username(username).await?.filter(|u| u.active);
                tx.commit().await?;
                u.ok_or_else(|| percorsi_domain::Invalid::one("user", "err-unknown-user"))?.id
            }
        };
        let mut out = ImportOutcome { file_name: file_name.to_string(), ..Default::default() };
        let today = crate::today();
        let mut tx = self.store().write().await?;
        let programme = tx
            .programme(programme_id)
            .await?
            .ok_or_else(|| percorsi_domain::Invalid::one("programme_id", "err-not-found"))?;
        let orgs: HashMap<String, Org> = tx
            .organisations()
            .await?
            .into_iter()
            .filter(|o| OrganisationKind::parse(&o.kind).is_some())
            .map(|o| (o.name.clone(), Org { id: o.id }))
            .collect();
        let rules: HashMap<InterventionType, (i64, i64, i64)> = tx
            .current_rules(programme.id)
            .await?
            .iter()
            .filter_map(|r| {
                InterventionType::parse(&r.intervention_type).map(|t| (t, (r.id, r.amount_cents, r.max_months)))
            })
            .collect();
        let threshold = match tx.latest_instrument(AssessmentKind::PostIntervento.code()).await? {
            Some(rec) => serde_json::from_str::<percorsi_domain::instrument::Instrument>(&rec.definition)
                .map_err(|e| ServiceError::Broken(format!("stored instrument: {e}")))?
                .autonomy_threshold
                .unwrap_or(1),
            None => 1,
        };
        let previous: HashMap<String, Option<String>> = tx.imported_refs(programme.id).await?.into_iter().collect();

        let started = std::time::Instant::now();
        let rows = read_rows(data, today, &mut out);
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut persons: HashMap<String, (u64, &HistoricalRow)> = HashMap::new();
        let mut fresh: Vec<(u64, &HistoricalRow, Option<AutonomyChange>)> = Vec::new();
        for (line, row) in &rows {
            let (line, row) = (*line, row);
            if let Some(first) = seen.insert(row.external_ref.clone(), line) {
                let e = FieldError::new("id_intervento", "err-duplicate-in-file").arg("line", first.to_string());
                out.error(line, "id_intervento", &row.external_ref, &e);
                continue;
            }
            let mut ok = true;
            let mut fail = |out: &mut ImportOutcome, column: &str, value: &str, e: FieldError| {
                out.error(line, column, value, &e);
                ok = false;
            };
            if !orgs.contains_key(&row.organisation) {
                fail(&mut out, "ente", &row.organisation, FieldError::new("ente", "err-unknown-organisation"));
            }
            if let Some(h) = row.host.as_ref().filter(|h| !orgs.contains_key(*h)) {
                fail(&mut out, "ente_ospitante", h, FieldError::new("ente_ospitante", "err-unknown-organisation"));
            }
            if row.start < programme.start_date || row.start > programme.end_date {
                let e = FieldError::new("data_inizio", "err-outside-programme")
                    .arg("value", row.start.format("%d/%m/%Y").to_string())
                    .arg("start", programme.start_date.format("%d/%m/%Y").to_string())
                    .arg("end", programme.end_date.format("%d/%m/%Y").to_string());
                fail(&mut out, "data_inizio", &row.start.to_string(), e);
            }
            if !rules.contains_key(&row.kind) {
                fail(
                    &mut out,
                    "tipo_intervento",
                    row.kind.code(),
                    FieldError::new("tipo_intervento", "err-no-rule").arg("type", row.kind.code()),
                );
            }
            let computed = autonomy_change(row.autonomy_pre, row.autonomy_post, threshold);
            if let (Some(c), Some(given)) = (computed, row.autonomy_change) {
                if c != given {
                    let e = FieldError::new(AUTONOMY_CHANGE, "err-autonomy-mismatch").arg("computed", c.code());
                    fail(&mut out, AUTONOMY_CHANGE, given.code(), e);
                }
            }
            match persons.get(&row.person_code) {
                Some((first, p)) if p.sex != row.sex || p.birth_year != row.birth_year => {
                    let e = FieldError::new("codice_persona", "err-person-inconsistent").arg("line", first.to_string());
                    fail(&mut out, "codice_persona", &row.person_code, e);
                }
                Some(_) => {}
                None => {
                    persons.insert(row.person_code.clone(), (line, row));
                }
            }
            match previous.get(&row.external_ref) {
                Some(hash) if hash.as_deref() == Some(row.hash.as_str()) => {
                    out.present += 1;
                    continue;
                }
                Some(_) => {
                    fail(
                        &mut out,
                        "id_intervento",
                        &row.external_ref,
                        FieldError::new("id_intervento", "err-imported-differently"),
                    );
                }
                None => {}
            }
            if ok {
                fresh.push((line, row, computed.or(row.autonomy_change)));
            }
        }
        if out.error_count > 0 {
            // Dropping the transaction writes nothing.
            return Ok(out);
        }

        // Persons: reuse those already known by code, add the others (anonymous: no identity).
        tracing::debug!(ms = started.elapsed().as_millis() as u64, rows = rows.len(), "import: checked");
        let mut codes: Vec<String> = fresh.iter().map(|(_, r, _)| r.person_code.clone()).collect();
        codes.sort();
        codes.dedup();
        let mut person_ids: HashMap<String, i64> =
            tx.ids_by_key("persons", "code", &codes).await?.into_iter().map(|(id, code)| (code, id)).collect();
        let now = crate::audit::now();
        let new_persons: Vec<Vec<Value>> = codes
            .iter()
            .filter(|c| !person_ids.contains_key(*c))
            .filter_map(|c| persons.get(c))
            .map(|(_, r)| {
                vec![
                    Value::Text(Some(r.person_code.clone())),
                    Value::Bool(Some(true)),
                    Value::Int(r.birth_year),
                    Value::Text(r.sex.map(|s| s.code().to_string())),
                    Value::Text(r.education.map(|s| s.code().to_string())),
                    Value::Text(r.work_history.map(|s| s.code().to_string())),
                    Value::Text(Some(now.clone())),
                    Value::Int(orgs.get(&r.organisation).map(|o| o.id)),
                ]
            })
            .collect();
        out.persons_added = new_persons.len();
        let added = tx
            .insert_many_returning(
                "persons",
                "code, anonymous, birth_year, sex, education, work_history, created_at, created_by_org",
                &new_persons,
                Some("code"),
            )
            .await?;
        person_ids.extend(added.into_iter().map(|(id, code)| (code, id)));

        let mut intervention_rows = Vec::with_capacity(fresh.len());
        for (_, r, _) in &fresh {
            let (rule_id, amount, max_months) = rules[&r.kind];
            let org = orgs[&r.organisation].id;
            let host = r.host.as_ref().map_or(org, |h| orgs[h].id);
            let planned_end =
                r.end.or_else(|| r.start.checked_add_months(Months::new(max_months as u32))).unwrap_or(r.start);
            let status = match r.ending {
                Some(Ending::Positive(_)) => InterventionStatus::Concluso,
                Some(Ending::Interrupted(_)) => InterventionStatus::Interrotto,
                None => InterventionStatus::Attivo,
            };
            let (outcome, positive, reason) = Ending::columns(r.ending);
            let text = |s: Option<&str>| Value::Text(s.map(str::to_string));
            intervention_rows.push(vec![
                Value::Int(Some(programme.id)),
                Value::Int(Some(rule_id)),
                Value::Int(person_ids.get(&r.person_code).copied()),
                Value::Int(Some(org)),
                Value::Int(Some(user_id)),
                text(Some(r.kind.code())),
                Value::Int(Some(host)),
                Value::Text(Some(r.start.to_string())),
                Value::Text(Some(planned_end.to_string())),
                Value::Text(Some(r.start.to_string())),
                Value::Text(r.end.map(|d| d.to_string())),
                Value::Int(Some(0)),
                Value::Int(Some(0)),
                Value::Int(Some(r.monthly_amount_cents.unwrap_or(amount))),
                text(Some(status.code())),
                Value::Int(r.relapses),
                Value::Bool(r.legal_use),
                Value::Bool(r.illegal_use),
                text(outcome),
                text(positive),
                text(reason),
                Value::Text(r.interruption_text.clone()),
                text(r.contract.map(|c| c.code())),
                text(r.evaluation.map(|e| e.code())),
                Value::Text(Some(now.clone())),
                Value::Text(Some(r.external_ref.clone())),
                Value::Text(Some(r.hash.clone())),
            ]);
        }
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "import: persons written");
        let ids: HashMap<String, i64> = tx
            .insert_many_returning(
                "interventions",
                "programme_id, rule_id, person_id, organisation_id, case_manager_id, intervention_type, host_organisation_id, \
                 planned_start, planned_end, actual_start, actual_end, weekly_days, weekly_hours, monthly_amount_cents, status, \
                 relapse_count, legal_substance_use, illegal_substance_use, outcome, positive_kind, interruption_reason, \
                 interruption_text, contract_kind, evaluation, created_at, external_ref, import_hash",
                &intervention_rows,
                Some("external_ref"),
            )
            .await?
            .into_iter()
            .map(|(id, r)| (r, id))
            .collect();
        drop(intervention_rows);

        tracing::debug!(ms = started.elapsed().as_millis() as u64, "import: interventions written");
        let mut results = Vec::with_capacity(fresh.len());
        let mut facts: Vec<Fact> = Vec::with_capacity(fresh.len());
        for (_, r, change) in &fresh {
            let id = *ids.get(&r.external_ref).ok_or_else(|| ServiceError::Broken("import: id not returned".into()))?;
            let code = |v: Option<&'static str>| v.map(str::to_string);
            let imported = ImportedResults {
                substance_start: code(r.substance_start.map(|s| s.code())),
                substance_current: code(r.substance_current.map(|s| s.code())),
                section_a: code(r.bands[0].map(|b| b.code())),
                section_b: code(r.bands[1].map(|b| b.code())),
                section_c: code(r.bands[2].map(|b| b.code())),
                autonomy_change: code(change.map(|c| c.code())),
            };
            results.push(vec![
                Value::Int(Some(id)),
                Value::Text(imported.substance_start.clone()),
                Value::Text(imported.substance_current.clone()),
                Value::Text(imported.section_a.clone()),
                Value::Text(imported.section_b.clone()),
                Value::Text(imported.section_c.clone()),
                Value::Text(imported.autonomy_change.clone()),
            ]);
            facts.push(fact_of(
                &source_of(id, programme.id, orgs[&r.organisation].id, r, imported),
                &Assessed::default(),
            )?);
        }
        tx.insert_many(
            "imported_results",
            "intervention_id, substance_start, substance_current, section_a, section_b, section_c, autonomy_change",
            &results,
        )
        .await?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "import: results written");
        tx.insert_facts(&facts).await?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "import: facts written");
        out.added = fresh.len();
        out.written = true;
        let sha = hex::encode(Sha256::digest(data));
        tx.insert_many(
            "imports",
            "programme_id, file_name, file_sha256, rows_total, rows_added, rows_present, user_id, at",
            &[vec![
                Value::Int(Some(programme.id)),
                Value::Text(Some(file_name.to_string())),
                Value::Text(Some(sha.clone())),
                Value::Int(Some(out.rows as i64)),
                Value::Int(Some(out.added as i64)),
                Value::Int(Some(out.present as i64)),
                Value::Int(Some(user_id)),
                Value::Text(Some(now)),
            ]],
        )
        .await?;
        let detail = format!(
            "{file_name} sha256 {sha}: {} righe, {} aggiunte, {} già presenti",
            out.rows, out.added, out.present
        );
        match &importer {
            Importer::User(a) => {
                record(&mut tx, a, "import", "programme", Some(programme.id), "importazione storica", Some(detail))
                    .await?
            }
            Importer::Cli { username } => {
                record_system(
                    &mut tx,
                    username,
                    Some(user_id),
                    "import",
                    "programme",
                    Some(detail),
                    "importazione storica",
                )
                .await?
            }
        }
        tx.commit().await?;
        Ok(out)
    }
}

fn source_of(
    id: i64,
    programme_id: i64,
    organisation_id: i64,
    r: &HistoricalRow,
    imported: ImportedResults,
) -> FactSource {
    let code = |v: Option<&'static str>| v.map(str::to_string);
    let (outcome, positive_kind, interruption_reason) = Ending::columns(r.ending);
    FactSource {
        id,
        programme_id,
        organisation_id,
        intervention_type: r.kind.code().to_string(),
        actual_start: Some(r.start),
        relapse_count: r.relapses,
        legal_substance_use: r.legal_use,
        illegal_substance_use: r.illegal_use,
        outcome: code(outcome),
        positive_kind: code(positive_kind),
        interruption_reason: code(interruption_reason),
        contract_kind: code(r.contract.map(|c| c.code())),
        evaluation: code(r.evaluation.map(|e| e.code())),
        sex: code(r.sex.map(|s| s.code())),
        birth_year: r.birth_year,
        education: code(r.education.map(|s| s.code())),
        work_history: code(r.work_history.map(|s| s.code())),
        substance_start: imported.substance_start.clone(),
        substance_current: imported.substance_current.clone(),
        imported: Some(imported),
    }
}

/// Reads the file into checked rows, reporting structural problems and wrong cells.
fn read_rows(data: &[u8], today: chrono::NaiveDate, out: &mut ImportOutcome) -> Vec<(u64, HistoricalRow)> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(data);
    let text = match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(e) => {
            let line = 1 + data[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() as u64;
            out.error(line, "", "", &FieldError::new("file", "err-not-utf8"));
            return Vec::new();
        }
    };
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(_) => {
            out.error(1, "", "", &FieldError::new("file", "err-csv-structure"));
            return Vec::new();
        }
    };
    if headers.iter().all(|h| h.is_empty()) {
        out.error(1, "", "", &FieldError::new("file", "err-empty-file"));
        return Vec::new();
    }
    let mut known: HashSet<&str> = COLUMNS.iter().copied().collect();
    known.insert(AUTONOMY_CHANGE);
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        match known.get(h.as_str()) {
            Some(k) => {
                if index.insert(k, i).is_some() {
                    out.error(1, h, h, &FieldError::new("file", "err-duplicate-column"));
                }
            }
            None => out.error(1, h, h, &FieldError::new("file", "err-unknown-column")),
        }
    }
    for r in REQUIRED {
        if !index.contains_key(r) {
            out.error(1, r, "", &FieldError::new("file", "err-missing-column"));
        }
    }
    if out.error_count > 0 {
        return Vec::new();
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                if record.iter().all(|v| v.trim().is_empty()) {
                    continue;
                }
                out.rows += 1;
                let get = |k: &str| index.get(k).and_then(|i| record.get(*i)).unwrap_or("");
                match history::parse_row(get, today) {
                    Ok(row) => rows.push((line, row)),
                    Err(errors) => {
                        for e in errors {
                            let value = get(e.field).to_string();
                            out.error(line, e.field, &value, &e);
                        }
                    }
                }
            }
            Err(e) => {
                out.rows += 1;
                let line = e.position().map_or(0, |p| p.line());
                out.error(line, "", "", &FieldError::new("file", "err-csv-structure").arg("detail", e.to_string()));
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
    }
    rows
}
