//! Importing a historical programme from a CSV file (format: `docs/import-format.md`).
//! All or nothing: every row is checked first; one error anywhere and nothing is written, and
//! the report names each wrong cell (line, column, value, why). Rows already imported with the
//! same content are recognised and skipped, so importing a file twice changes nothing.

use crate::audit::{record, record_system};
use crate::policy::{self, Permission};
use crate::{Actor, Result, Service, ServiceError};
use chrono::Months;
use percorsi_domain::codes::OrganisationKind;
use percorsi_domain::history::{self, HistoricalRow, AUTONOMY_CHANGE, COLUMNS, REQUIRED};
use percorsi_domain::instrument::{autonomy_change, AssessmentKind, AutonomyChange};
use percorsi_domain::intervention::InterventionStatus;
use percorsi_domain::programme::InterventionType;
use percorsi_domain::pseudonym;
use percorsi_domain::report::{Ending, Fact};
use percorsi_domain::FieldError;
use percorsi_domain::Invalid;
use percorsi_store::{derive_fact, Assessed};
use percorsi_store::{
    FactSource, ImportCounts, ImportedResults, KnownPerson, Mode, ProgrammeRow, StoreError, Tx, Value,
};
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
    /// The command line (or a benchmark), attributing the rows to `username`. `shared`: another
    /// process (a running server) may be writing to the same SQLite database, so the import
    /// pauses between chunks to let it in (see `let_other_writers_in`).
    Cli {
        username: &'a str,
        shared: bool,
    },
}

/// What the file is checked against: the programme, its rules and what was imported before.
struct Target {
    programme: ProgrammeRow,
    /// Organisation name → id.
    orgs: HashMap<String, i64>,
    /// Type → (rule id, monthly amount in cents, maximum months).
    rules: HashMap<InterventionType, (i64, i64, i64)>,
    /// The post form's autonomy threshold, to turn imported scores into a change.
    threshold: i64,
    /// Reference → content hash of the rows imported before.
    previous: HashMap<String, Option<String>>,
    /// People already stored under the file's codes.
    known: HashMap<String, KnownPerson>,
}

/// A checked row to write, with its autonomy change.
struct Fresh<'a> {
    row: &'a HistoricalRow,
    autonomy: Option<AutonomyChange>,
}

impl Target {
    async fn load<M: Mode>(tx: &mut Tx<M>, programme_id: i64, rows: &[(u64, HistoricalRow)]) -> Result<Target> {
        let programme =
            tx.programme(programme_id).await?.ok_or_else(|| Invalid::one("programme_id", "err-not-found"))?;
        let orgs = tx
            .organisations()
            .await?
            .into_iter()
            .filter(|o| OrganisationKind::parse(&o.kind).is_some())
            .map(|o| (o.name, o.id))
            .collect();
        let rules = tx
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
        let previous = tx.imported_refs(programme.id).await?.into_iter().collect();
        let mut codes: Vec<String> = rows.iter().map(|(_, r)| r.person_code.clone()).collect();
        codes.sort();
        codes.dedup();
        let known = tx.persons_by_codes(&codes).await?.into_iter().map(|p| (p.code.clone(), p)).collect();
        Ok(Target { programme, orgs, rules, threshold, previous, known })
    }

    /// The rules that need the whole file or the database: duplicates, organisations, the
    /// programme's period and rules, one person's attributes, rows imported before.
    fn check<'a>(&self, rows: &'a [(u64, HistoricalRow)], out: &mut ImportOutcome) -> Vec<Fresh<'a>> {
        let mut seen: HashMap<&str, u64> = HashMap::new();
        let mut persons: HashMap<&str, (u64, &HistoricalRow)> = HashMap::new();
        let mut fresh = Vec::new();
        for (line, row) in rows {
            let line = *line;
            if let Some(first) = seen.insert(&row.external_ref, line) {
                let e = FieldError::new("id_intervento", "err-duplicate-in-file").arg("line", first.to_string());
                out.error(line, "id_intervento", &row.external_ref, &e);
                continue;
            }
            let errors_before = out.error_count;
            let p = &self.programme;
            if !self.orgs.contains_key(&row.organisation) {
                out.error(line, "ente", &row.organisation, &FieldError::new("ente", "err-unknown-organisation"));
            }
            if let Some(h) = row.host.as_ref().filter(|h| !self.orgs.contains_key(*h)) {
                out.error(line, "ente_ospitante", h, &FieldError::new("ente_ospitante", "err-unknown-organisation"));
            }
            if row.start < p.start_date || row.start > p.end_date {
                let e = FieldError::new("data_inizio", "err-outside-programme")
                    .arg("value", row.start.format("%d/%m/%Y").to_string())
                    .arg("start", p.start_date.format("%d/%m/%Y").to_string())
                    .arg("end", p.end_date.format("%d/%m/%Y").to_string());
                out.error(line, "data_inizio", &row.start.to_string(), &e);
            }
            if !self.rules.contains_key(&row.kind) {
                let e = FieldError::new("tipo_intervento", "err-no-rule").arg("type", row.kind.code());
                out.error(line, "tipo_intervento", row.kind.code(), &e);
            }
            let computed = autonomy_change(row.autonomy_pre, row.autonomy_post, self.threshold);
            if let (Some(c), Some(given)) = (computed, row.autonomy_change) {
                if c != given {
                    let e = FieldError::new(AUTONOMY_CHANGE, "err-autonomy-mismatch").arg("computed", c.code());
                    out.error(line, AUTONOMY_CHANGE, given.code(), &e);
                }
            }
            // Historical people live apart from the registry: a file never adds history to a
            // person someone is caring for, whatever code it names (a network code taken from
            // an extract included), and agrees with what earlier files said about a person.
            let stored = self.known.get(&row.person_code);
            if pseudonym::is_code(&row.person_code) || stored.is_some_and(|k| k.live) {
                out.error(
                    line,
                    "codice_persona",
                    &row.person_code,
                    &FieldError::new("codice_persona", "err-live-code"),
                );
            } else if let Some(k) = stored
                .filter(|k| differ(k.sex.as_deref(), row.sex.map(|s| s.code())) || differ(k.birth_year, row.birth_year))
            {
                let e = FieldError::new("codice_persona", "err-person-inconsistent-stored")
                    .arg("sex", k.sex.clone().unwrap_or_else(|| "-".into()))
                    .arg("year", k.birth_year.map(|y| y.to_string()).unwrap_or_else(|| "-".into()));
                out.error(line, "codice_persona", &row.person_code, &e);
            }
            match persons.get(row.person_code.as_str()) {
                Some((first, p)) if differ(p.sex, row.sex) || differ(p.birth_year, row.birth_year) => {
                    let e = FieldError::new("codice_persona", "err-person-inconsistent").arg("line", first.to_string());
                    out.error(line, "codice_persona", &row.person_code, &e);
                }
                Some(_) => {}
                None => {
                    persons.insert(&row.person_code, (line, row));
                }
            }
            match self.previous.get(&row.external_ref) {
                Some(Some(hash)) if *hash == row.hash || *hash == row.raw_hash => {
                    out.present += 1;
                    continue;
                }
                Some(_) => {
                    let e = FieldError::new("id_intervento", "err-imported-differently");
                    out.error(line, "id_intervento", &row.external_ref, &e);
                }
                None => {}
            }
            if out.error_count == errors_before {
                fresh.push(Fresh { row, autonomy: computed.or(row.autonomy_change) });
            }
        }
        fresh
    }

    /// The people of the rows not stored yet, one row each (the first that names them), in
    /// code order.
    fn new_persons<'a>(fresh: &[Fresh<'a>], stored: &HashMap<String, i64>) -> Vec<&'a HistoricalRow> {
        let mut first: HashMap<&str, &HistoricalRow> = HashMap::new();
        for f in fresh {
            first.entry(&f.row.person_code).or_insert(f.row);
        }
        let mut new: Vec<&HistoricalRow> =
            first.into_values().filter(|r| !stored.contains_key(&r.person_code)).collect();
        new.sort_by(|a, b| a.person_code.cmp(&b.person_code));
        new
    }

    /// A new, anonymous person (no identity) of a staging import.
    fn person_values(&self, r: &HistoricalRow, now: &str, import_id: i64) -> Vec<Value> {
        let text = |s: Option<&str>| Value::Text(s.map(str::to_string));
        vec![
            text(Some(&r.person_code)),
            Value::Bool(Some(true)),
            Value::Int(r.birth_year),
            text(r.sex.map(|s| s.code())),
            text(r.education.map(|s| s.code())),
            text(r.work_history.map(|s| s.code())),
            text(Some(now)),
            Value::Int(self.orgs.get(&r.organisation).copied()),
            Value::Int(Some(import_id)),
        ]
    }

    /// One intervention, attributed to the importing account.
    fn intervention_values(
        &self,
        r: &HistoricalRow,
        person_id: i64,
        user_id: i64,
        now: &str,
        import_id: i64,
    ) -> Result<Vec<Value>> {
        let text = |s: Option<&str>| Value::Text(s.map(str::to_string));
        let (Some(&(rule_id, amount, max_months)), Some(&org)) =
            (self.rules.get(&r.kind), self.orgs.get(&r.organisation))
        else {
            return Err(ServiceError::Broken("import: a checked row lost its rule or organisation".into()));
        };
        let host = r.host.as_ref().and_then(|h| self.orgs.get(h).copied()).unwrap_or(org);
        let planned_end =
            r.end.or_else(|| r.start.checked_add_months(Months::new(max_months as u32))).unwrap_or(r.start);
        let status = match r.ending {
            Some(Ending::Positive(_)) => InterventionStatus::Concluso,
            Some(Ending::Interrupted(_)) => InterventionStatus::Interrotto,
            None => InterventionStatus::Attivo,
        };
        let (outcome, positive, reason) = Ending::columns(r.ending);
        Ok(vec![
            Value::Int(Some(self.programme.id)),
            Value::Int(Some(rule_id)),
            Value::Int(Some(person_id)),
            Value::Int(Some(org)),
            Value::Int(Some(user_id)),
            text(Some(r.kind.code())),
            Value::Int(Some(host)),
            text(Some(&r.start.to_string())),
            text(Some(&planned_end.to_string())),
            text(Some(&r.start.to_string())),
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
            text(Some(now)),
            text(Some(&r.external_ref)),
            text(Some(&r.hash)),
            Value::Int(Some(import_id)),
        ])
    }

    /// One chunk of rows in one short transaction: the interventions, their results as levels
    /// and their report facts (derived the same way as for live data), all tagged with the
    /// staging import and so invisible until it is published.
    async fn write_chunk(
        &self,
        tx: &mut Tx,
        chunk: &[Fresh<'_>],
        persons: &HashMap<String, i64>,
        user_id: i64,
        now: &str,
        import_id: i64,
    ) -> Result<()> {
        let person = |r: &HistoricalRow| {
            persons
                .get(&r.person_code)
                .copied()
                .ok_or_else(|| ServiceError::Broken("import: a checked row lost its person".into()))
        };
        let rows = chunk
            .iter()
            .map(|f| self.intervention_values(f.row, person(f.row)?, user_id, now, import_id))
            .collect::<Result<Vec<_>>>()?;
        let ids: HashMap<String, i64> = tx
            .insert_many_returning(
                "interventions",
                "programme_id, rule_id, person_id, organisation_id, case_manager_id, intervention_type, host_organisation_id, \
                 planned_start, planned_end, actual_start, actual_end, weekly_days, weekly_hours, monthly_amount_cents, status, \
                 relapse_count, legal_substance_use, illegal_substance_use, outcome, positive_kind, interruption_reason, \
                 interruption_text, contract_kind, evaluation, created_at, external_ref, import_hash, import_id",
                &rows,
                Some("external_ref"),
            )
            .await?
            .into_iter()
            .map(|(id, r)| (r, id))
            .collect();
        let mut results = Vec::with_capacity(chunk.len());
        let mut facts: Vec<Fact> = Vec::with_capacity(chunk.len());
        let code = |v: Option<&'static str>| v.map(str::to_string);
        for Fresh { row: r, autonomy } in chunk {
            let (Some(&id), Some(&org)) = (ids.get(&r.external_ref), self.orgs.get(&r.organisation)) else {
                return Err(ServiceError::Broken("import: id not returned".into()));
            };
            let imported = ImportedResults {
                substance_start: code(r.substance_start.map(|s| s.code())),
                substance_current: code(r.substance_current.map(|s| s.code())),
                section_a: code(r.bands[0].map(|b| b.code())),
                section_b: code(r.bands[1].map(|b| b.code())),
                section_c: code(r.bands[2].map(|b| b.code())),
                autonomy_change: code(autonomy.map(|c| c.code())),
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
            facts.push(derive_fact(
                &source_of(id, person(r)?, self.programme.id, org, r, imported),
                &Assessed::default(),
            )?);
        }
        tx.insert_many(
            "imported_results",
            "intervention_id, substance_start, substance_current, section_a, section_b, section_c, autonomy_change",
            &results,
        )
        .await?;
        tx.insert_facts(&facts, Some(import_id)).await?;
        Ok(())
    }
}

/// Two rows disagree about a person only where both say something: a blank is "unknown".
fn differ<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x != y)
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
            Importer::Cli { username, .. } => {
                let mut tx = self.store().read().await?;
                let u = tx.user_by_username(username).await?.filter(|u| u.active);
                tx.commit().await?;
                u.ok_or_else(|| Invalid::one("user", "err-unknown-user"))?.id
            }
        };
        let started = std::time::Instant::now();
        let ms = || started.elapsed().as_millis() as u64;
        // Parsing a large file is CPU work: off the async workers, and before the import
        // takes the installation's import lock.
        let (rows, mut out, sha) = {
            let (data, name) = (data.to_vec(), file_name.to_string());
            crate::off_thread(move || {
                let mut out = ImportOutcome { file_name: name, ..Default::default() };
                let rows = read_rows(&data, crate::today(), &mut out);
                (rows, out, hex::encode(Sha256::digest(&data)))
            })
            .await?
        };
        tracing::debug!(ms = ms(), rows = rows.len(), "import: parsed");
        if out.error_count > 0 {
            // Refused already: the rows that could be read are still checked, so that one
            // report names every problem of the file; nothing will be written.
            let mut tx = self.store().read().await?;
            Target::load(&mut tx, programme_id, &rows).await?.check(&rows, &mut out);
            tx.commit().await?;
            return Ok(out);
        }
        self.discard_abandoned_imports().await?;
        let now = crate::audit::now();
        let mut staging = {
            let mut tx = self.store().write().await?;
            let id = match tx.begin_import(programme_id, file_name, &sha, user_id, &now).await {
                Err(StoreError::Duplicate) => return Err(ServiceError::Conflict("err-import-in-progress")),
                other => other?,
            };
            tx.commit().await?;
            Staging { store: self.store().clone(), id, settled: false }
        };
        // Checked against one snapshot. Nothing else writes historical rows meanwhile: the
        // import lock keeps every other import out until this one is published or discarded.
        let mut tx = self.store().read().await?;
        let target = Target::load(&mut tx, programme_id, &rows).await?;
        let fresh = target.check(&rows, &mut out);
        let mut codes: Vec<String> = fresh.iter().map(|f| f.row.person_code.clone()).collect();
        codes.sort();
        codes.dedup();
        let mut persons: HashMap<String, i64> =
            tx.ids_by_key("persons", "code", &codes).await?.into_iter().map(|(id, code)| (code, id)).collect();
        tx.commit().await?;
        tracing::debug!(ms = ms(), rows = rows.len(), "import: checked");
        if out.error_count > 0 {
            staging.discard().await;
            return Ok(out);
        }
        // Written in short transactions, each renewing the import's heartbeat as its last
        // step: SQLite's single writer is never held for more than one chunk, and every row
        // stays invisible until the import is published below.
        let new = Target::new_persons(&fresh, &persons);
        out.persons_added = new.len();
        let two = self.two_lanes();
        let added = in_lanes(two, new.chunks(PERSON_CHUNK), |chunk| async {
            let values: Vec<Vec<Value>> = chunk.iter().map(|r| target.person_values(r, &now, staging.id)).collect();
            let mut tx = self.store().write().await?;
            let added = tx
                .insert_many_returning(
                    "persons",
                    "code, anonymous, birth_year, sex, education, work_history, created_at, created_by_org, import_id",
                    &values,
                    Some("code"),
                )
                .await?;
            tx.import_heartbeat(staging.id, &crate::audit::now()).await?;
            tx.commit().await?;
            self.let_other_writers_in(&importer).await;
            Ok(added)
        })
        .await?;
        persons.extend(added.into_iter().flatten().map(|(id, code)| (code, id)));
        tracing::debug!(ms = ms(), "import: persons written");
        in_lanes(two, fresh.chunks(CHUNK), |chunk| async {
            let mut tx = self.store().write().await?;
            target.write_chunk(&mut tx, chunk, &persons, user_id, &now, staging.id).await?;
            tx.import_heartbeat(staging.id, &crate::audit::now()).await?;
            tx.commit().await?;
            self.let_other_writers_in(&importer).await;
            Ok(())
        })
        .await?;
        tracing::debug!(ms = ms(), "import: interventions, results and facts written");
        out.added = fresh.len();
        let programme = target.programme.id;
        let counts = ImportCounts {
            rows_total: out.rows as i64,
            rows_added: out.added as i64,
            rows_present: out.present as i64,
        };
        let detail = format!(
            "{file_name} sha256 {sha}: {} righe, {} aggiunte, {} già presenti",
            out.rows, out.added, out.present
        );
        let mut tx = self.store().write().await?;
        tx.publish_import(staging.id, &counts, &crate::audit::now()).await?;
        match &importer {
            Importer::User(a) => {
                record(&mut tx, a, "import", "programme", Some(programme), "importazione storica", Some(detail)).await?
            }
            Importer::Cli { username, .. } => {
                let reason = "importazione storica";
                record_system(&mut tx, username, Some(user_id), "import", "programme", Some(detail), reason).await?
            }
        }
        tx.commit().await?;
        staging.settled = true;
        tracing::debug!(ms = ms(), "import: published");
        out.written = true;
        Ok(out)
    }

    /// Whether two chunks are written at once. PostgreSQL: yes, one per core of the machines
    /// this is sized for — an import's time is PostgreSQL checking each row's references and
    /// updating indexes, one backend per connection, so a second connection uses the second
    /// core (at 200,000 rows the interventions took 13.1 s with one lane). SQLite: no, it
    /// has one writer.
    fn two_lanes(&self) -> bool {
        self.store().backend() == percorsi_store::Backend::Postgres
    }

    /// A pause between chunks of the command-line import on SQLite. Within the server the
    /// writer pool serves waiting requests in order, but `percorsi import` is another process,
    /// and SQLite's file lock is not fair: a server waiting for it polls at growing intervals
    /// (up to 100 ms) and would keep missing the moment between two chunks. The pause lets it in.
    async fn let_other_writers_in(&self, importer: &Importer<'_>) {
        if matches!(importer, Importer::Cli { shared: true, .. })
            && self.store().backend() == percorsi_store::Backend::Sqlite
        {
            tokio::time::sleep(CHUNK_PAUSE).await;
        }
    }

    /// Discards the imports whose writer stopped (a crash, a killed process) before
    /// publishing: their rows were never visible and are removed in short steps.
    pub async fn discard_abandoned_imports(&self) -> Result<usize> {
        let cutoff = crate::audit::ts(chrono::Utc::now() - chrono::Duration::seconds(ABANDONED_AFTER_SECONDS));
        let mut tx = self.store().read().await?;
        let abandoned = tx.abandoned_imports(&cutoff).await?;
        tx.commit().await?;
        for &id in &abandoned {
            tracing::warn!(import = id, "discarding an import abandoned before it was published");
            discard(self.store(), id).await?;
        }
        Ok(abandoned.len())
    }
}

/// Runs `work` on every chunk, in one lane or in two interleaved lanes whose transactions run
/// at the same time; within a lane, chunks follow each other. The first error stops both lanes
/// (the other lane's transaction is dropped, so rolled back). Returns each chunk's result.
async fn in_lanes<'c, T, R, Fut>(
    two: bool,
    chunks: impl Iterator<Item = &'c [T]> + Clone,
    work: impl Fn(&'c [T]) -> Fut,
) -> Result<Vec<R>>
where
    T: 'c,
    Fut: std::future::Future<Output = Result<R>>,
{
    let lane = |first: usize, step: usize| {
        let (work, chunks) = (&work, chunks.clone());
        async move {
            let mut out = Vec::new();
            for chunk in chunks.skip(first).step_by(step) {
                out.push(work(chunk).await?);
            }
            Ok::<_, ServiceError>(out)
        }
    };
    if two {
        let (mut a, b) = tokio::try_join!(lane(0, 2), lane(1, 2))?;
        a.extend(b);
        Ok(a)
    } else {
        lane(0, 1).await
    }
}

/// Rows written per transaction: each holds SQLite's single writer for about a tenth of a
/// second (measured: 200,000 rows in about 9 s of writing).
const CHUNK: usize = 2_000;

/// People are narrow rows with one index: five times as many take about as long.
const PERSON_CHUNK: usize = 5 * CHUNK;

/// The pause between two chunks on SQLite (see `let_other_writers_in`).
const CHUNK_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// A staging import whose heartbeat is older than this was abandoned by its writer.
const ABANDONED_AFTER_SECONDS: i64 = 120;

/// A staging import; unless it was settled (published, or discarded on the spot), dropping it
/// (an error, the request given up) discards its rows in the background.
struct Staging {
    store: percorsi_store::Store,
    id: i64,
    settled: bool,
}

impl Staging {
    /// Discards the rows now (a file refused after checking).
    async fn discard(&mut self) {
        self.settled = true;
        discard_or_leave(&self.store, self.id).await;
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (store, id) = (self.store.clone(), self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { discard_or_leave(&store, id).await });
        }
    }
}

/// Discards a staging import whose request is over; if that fails too, its heartbeat stops
/// and the next import (or the server's hourly sweep) discards it.
async fn discard_or_leave(store: &percorsi_store::Store, id: i64) {
    if let Err(e) = discard(store, id).await {
        tracing::warn!(import = id, error = %e, "could not discard a staging import; the next import will");
    }
}

/// Removes a staging import's rows in short transactions, then the import itself.
async fn discard(store: &percorsi_store::Store, id: i64) -> std::result::Result<(), StoreError> {
    loop {
        let mut tx = store.write().await?;
        let done = tx.discard_import_step(id, CHUNK as i64).await?;
        tx.commit().await?;
        if done {
            return Ok(());
        }
    }
}

fn source_of(
    id: i64,
    person_id: i64,
    programme_id: i64,
    organisation_id: i64,
    r: &HistoricalRow,
    imported: ImportedResults,
) -> FactSource {
    let code = |v: Option<&'static str>| v.map(str::to_string);
    let (outcome, positive_kind, interruption_reason) = Ending::columns(r.ending);
    FactSource {
        id,
        person_id,
        programme_id,
        organisation_id,
        intervention_type: r.kind.code().to_string(),
        actual_start: Some(r.start),
        actual_end: r.end,
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
    // Excel on Windows writes CRLF, old Mac tools a bare CR: one line ending for all, so that
    // the line numbers in the report are the ones an editor shows.
    let text: std::borrow::Cow<str> =
        if text.contains('\r') { text.replace("\r\n", "\n").replace('\r', "\n").into() } else { text.into() };
    let text = text.as_ref();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of_errors(file: &str) -> Vec<u64> {
        let mut out = ImportOutcome {
            file_name: "t.csv".into(),
            rows: 0,
            added: 0,
            present: 0,
            persons_added: 0,
            written: false,
            error_count: 0,
            errors: Vec::new(),
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        read_rows(file.as_bytes(), today, &mut out);
        out.errors.iter().map(|e| e.line).collect()
    }

    #[test]
    fn line_numbers_are_right_whatever_the_line_endings() {
        let rows = [
            "id_intervento;codice_persona;ente;tipo_intervento;data_inizio",
            "A-1;P1;1-MS;socio_terapeutico;2011-03-01",
            "A-2;P2;1-MS;socio_terapeutico;2011-03-01",
            "A-3;P3;1-MS;tipo_sbagliato;2011-03-01",
            "A-4;P4;1-MS;socio_terapeutico;31/02/2011",
        ];
        for ending in ["\n", "\r\n", "\r"] {
            let file = rows.join(ending) + ending;
            assert_eq!(lines_of_errors(&file), vec![4, 5], "line ending {ending:?}");
        }
    }
}
