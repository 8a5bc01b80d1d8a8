//! The reporting extract (`report_facts`): one row per intervention with its classified values,
//! written with every change, read incrementally by revision.

use crate::rows::{date_text, opt_bool, opt_date};
use crate::{Backend, Mode, Result, Store, StoreError, Tx, Write};
use chrono::NaiveDate;
use percorsi_domain::report::Fact;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A person already stored under a code an import names.
#[derive(Debug, Clone)]
pub struct KnownPerson {
    pub code: String,
    pub sex: Option<String>,
    pub birth_year: Option<i64>,
    pub live: bool,
}

/// What a live intervention's fact is derived from (one query).
#[derive(Debug, Clone)]
pub struct FactSource {
    pub id: i64,
    pub person_id: i64,
    pub programme_id: i64,
    pub organisation_id: i64,
    pub intervention_type: String,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    pub relapse_count: Option<i64>,
    pub legal_substance_use: Option<bool>,
    pub illegal_substance_use: Option<bool>,
    pub outcome: Option<String>,
    pub positive_kind: Option<String>,
    pub interruption_reason: Option<String>,
    pub contract_kind: Option<String>,
    pub evaluation: Option<String>,
    pub sex: Option<String>,
    pub birth_year: Option<i64>,
    pub education: Option<String>,
    pub work_history: Option<String>,
    /// From the care episode with the managing organisation, or the imported results.
    pub substance_start: Option<String>,
    pub substance_current: Option<String>,
    pub imported: Option<ImportedResults>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedResults {
    pub substance_start: Option<String>,
    pub substance_current: Option<String>,
    pub section_a: Option<String>,
    pub section_b: Option<String>,
    pub section_c: Option<String>,
    pub autonomy_change: Option<String>,
}

/// The columns a fact is derived from; `WHERE` added by the caller.
const FACT_SOURCE: &str = "SELECT i.id, i.person_id, i.programme_id, i.organisation_id, i.intervention_type, i.actual_start, i.actual_end, i.relapse_count, \
             i.legal_substance_use, i.illegal_substance_use, i.outcome, i.positive_kind, i.interruption_reason, \
             i.contract_kind, i.evaluation, p.sex, p.birth_year, p.education, p.work_history, \
             (SELECT e.substance_start FROM care_episodes e WHERE e.person_id = i.person_id AND e.organisation_id = i.organisation_id \
              ORDER BY e.start_date DESC, e.id DESC LIMIT 1) AS episode_start, \
             (SELECT e.substance_current FROM care_episodes e WHERE e.person_id = i.person_id AND e.organisation_id = i.organisation_id \
              ORDER BY e.start_date DESC, e.id DESC LIMIT 1) AS episode_current, \
             r.intervention_id AS imported_id, r.substance_start AS imported_start, r.substance_current AS imported_current, \
             r.section_a, r.section_b, r.section_c, r.autonomy_change \
             FROM interventions i JOIN persons p ON p.id = i.person_id LEFT JOIN imported_results r ON r.intervention_id = i.id ";

fn source_of(r: &AnyRow) -> Result<FactSource> {
    let imported = match r.try_get::<Option<i64>, _>("imported_id")? {
        Some(_) => Some(ImportedResults {
            substance_start: r.try_get("imported_start")?,
            substance_current: r.try_get("imported_current")?,
            section_a: r.try_get("section_a")?,
            section_b: r.try_get("section_b")?,
            section_c: r.try_get("section_c")?,
            autonomy_change: r.try_get("autonomy_change")?,
        }),
        None => None,
    };
    let (substance_start, substance_current) = match &imported {
        Some(i) => (i.substance_start.clone(), i.substance_current.clone()),
        None => (r.try_get("episode_start")?, r.try_get("episode_current")?),
    };
    Ok(FactSource {
        person_id: r.try_get("person_id")?,
        id: r.try_get("id")?,
        programme_id: r.try_get("programme_id")?,
        organisation_id: r.try_get("organisation_id")?,
        intervention_type: r.try_get("intervention_type")?,
        actual_start: opt_date(r, "actual_start")?,
        actual_end: opt_date(r, "actual_end")?,
        relapse_count: r.try_get("relapse_count")?,
        legal_substance_use: opt_bool(r, "legal_substance_use")?,
        illegal_substance_use: opt_bool(r, "illegal_substance_use")?,
        outcome: r.try_get("outcome")?,
        positive_kind: r.try_get("positive_kind")?,
        interruption_reason: r.try_get("interruption_reason")?,
        contract_kind: r.try_get("contract_kind")?,
        evaluation: r.try_get("evaluation")?,
        sex: r.try_get("sex")?,
        birth_year: r.try_get("birth_year")?,
        education: r.try_get("education")?,
        work_history: r.try_get("work_history")?,
        substance_start,
        substance_current,
        imported,
    })
}

const FACT_COLUMNS: &str = "intervention_id, programme_id, organisation_id, start_date, profile, person_id, end_date";

fn fact_of(r: &AnyRow) -> Result<Fact> {
    let id: i64 = r.try_get(1)?;
    let profile: i64 = r.try_get(5)?;
    let start: Option<String> = r.try_get(4)?;
    let start = match start {
        Some(s) => Some(
            NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|_| StoreError::Corrupt(format!("fact {id} start {s:?}")))?,
        ),
        None => None,
    };
    let person_id: Option<i64> = r.try_get(6)?;
    let end: Option<String> = r.try_get(7)?;
    let end = end.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok());
    Fact::unpack(id, r.try_get(2)?, r.try_get(3)?, start, profile)
        .map(|f| Fact { person_id: person_id.unwrap_or(0), end, ..f })
        .ok_or_else(|| StoreError::Corrupt(format!("fact {id} profile {profile}")))
}

/// The values of a fact in `FACT_COLUMNS` order.
fn fact_values(f: &Fact) -> [Value; 7] {
    [
        Value::Int(Some(f.intervention_id)),
        Value::Int(Some(f.programme_id)),
        Value::Int(Some(f.organisation_id)),
        Value::Text(f.start.map(date_text)),
        Value::Int(Some(f.profile())),
        Value::Int((f.person_id != 0).then_some(f.person_id)),
        Value::Text(f.end.map(date_text)),
    ]
}

/// A bound value for the multi-row inserts.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

/// Binds per SQLite statement: under its limit with room to spare. SQLite looks named markers
/// (`$1`) up by name one after the other, which makes a statement with thousands of them
/// quadratic to prepare, so generated statements use anonymous `?` markers.
const MAX_BINDS: usize = 30_000;

impl Value {
    fn pg_type(&self) -> &'static str {
        match self {
            Value::Int(_) => "bigint",
            Value::Text(_) => "text",
            Value::Bool(_) => "boolean",
        }
    }
}

/// A PostgreSQL array literal (`{1,NULL,"a \"b\""}`) of one column's values.
fn pg_array<'a>(values: impl Iterator<Item = &'a Value>) -> String {
    let mut out = String::from("{");
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            Value::Int(Some(n)) => out.push_str(&n.to_string()),
            Value::Bool(Some(b)) => out.push(if *b { 't' } else { 'f' }),
            Value::Text(Some(t)) => {
                out.push('"');
                for c in t.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            _ => out.push_str("NULL"),
        }
    }
    out.push('}');
    out
}

/// What the pseudonymised extract adds to a fact: the person's code, the end and the status.
#[derive(Debug, Clone)]
pub struct ExtractLine {
    pub intervention_id: i64,
    pub organisation_id: i64,
    pub person_code: String,
    pub end: Option<NaiveDate>,
    pub status: String,
}

impl<M: Mode> Tx<M> {
    pub async fn extract_lines(&mut self, programme_id: i64) -> Result<Vec<ExtractLine>> {
        let rows = sqlx::query(&format!(
            "SELECT i.id, i.organisation_id, p.code, i.actual_end, i.status FROM interventions i JOIN persons p ON p.id = i.person_id \
             WHERE i.programme_id = $1 AND i.actual_start IS NOT NULL AND COALESCE(i.import_id, 0) {} ORDER BY i.id",
            crate::imports::NOT_STAGING
        ))
        .bind(programme_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ExtractLine {
                    intervention_id: r.try_get("id")?,
                    organisation_id: r.try_get("organisation_id")?,
                    person_code: r.try_get("code")?,
                    end: opt_date(r, "actual_end")?,
                    status: r.try_get("status")?,
                })
            })
            .collect()
    }

    /// `(id, key)` of the rows of `table` whose text column `key` is one of `values`.
    pub async fn ids_by_key(&mut self, table: &str, key: &str, values: &[String]) -> Result<Vec<(i64, String)>> {
        let rows = self.rows_by_key(&format!("SELECT id, {key} FROM {table}"), key, values).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get(key)?))).collect()
    }

    /// What an import must know of people already stored under its codes: their sex and birth
    /// year (all rows of one person agree) and whether they are people of the live registry
    /// (a care episode), whom a historical file may never touch.
    pub async fn persons_by_codes(&mut self, codes: &[String]) -> Result<Vec<KnownPerson>> {
        let select = "SELECT p.code, p.sex, p.birth_year, \
                      EXISTS (SELECT 1 FROM care_episodes e WHERE e.person_id = p.id) AS live FROM persons p";
        let rows = self.rows_by_key(select, "p.code", codes).await?;
        rows.iter()
            .map(|r| {
                Ok(KnownPerson {
                    code: r.try_get("code")?,
                    sex: r.try_get("sex")?,
                    birth_year: r.try_get("birth_year")?,
                    live: crate::rows::bool_col(r, "live")?,
                })
            })
            .collect()
    }

    /// `select … WHERE key IN values`, in chunks the engines accept.
    async fn rows_by_key(&mut self, select: &str, key: &str, values: &[String]) -> Result<Vec<sqlx::any::AnyRow>> {
        let mut out = Vec::new();
        for chunk in values.chunks(MAX_BINDS) {
            let (sql, mut q);
            if self.backend == Backend::Postgres {
                // A join, not `key = ANY($1)`: with an array of thousands of values and no
                // statistics yet (a first import), the planner chose a scan of the table
                // testing each row against the whole array — quadratic, minutes at 200,000.
                sql = format!("{select} JOIN unnest($1::text[]) AS wanted(key) ON {key} = wanted.key");
                let texts: Vec<Value> = chunk.iter().map(|v| Value::Text(Some(v.clone()))).collect();
                q = sqlx::query(&sql).bind(pg_array(texts.iter()));
            } else {
                sql = format!("{select} WHERE {key} IN ({})", vec!["?"; chunk.len()].join(","));
                q = sqlx::query(&sql);
                for v in chunk {
                    q = q.bind(v.as_str());
                }
            }
            out.extend(q.fetch_all(self.conn()).await?);
        }
        Ok(out)
    }

    /// Interventions already imported into a programme: reference → content hash.
    pub async fn imported_refs(&mut self, programme_id: i64) -> Result<Vec<(String, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT external_ref, import_hash FROM interventions WHERE programme_id = $1 AND external_ref IS NOT NULL",
        )
        .bind(programme_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("external_ref")?, r.try_get("import_hash")?))).collect()
    }

    pub async fn fact_source(&mut self, id: i64) -> Result<Option<FactSource>> {
        let r = sqlx::query(&format!("{FACT_SOURCE} WHERE i.id = $1")).bind(id).fetch_optional(self.conn()).await?;
        r.as_ref().map(source_of).transpose()
    }

    /// The sources of many interventions at once (the back-fill of the reporting extract).
    pub async fn fact_sources(&mut self, ids: &[i64]) -> Result<Vec<FactSource>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Integers only: formatting them into the statement cannot inject anything.
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let rows = sqlx::query(&format!("{FACT_SOURCE} WHERE i.id IN ({list})")).fetch_all(self.conn()).await?;
        rows.iter().map(source_of).collect()
    }

    /// Which of these interventions have filled forms.
    pub async fn assessed_among(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        Ok(sqlx::query_scalar(&format!(
            "SELECT DISTINCT intervention_id FROM assessments WHERE intervention_id IN ({list})"
        ))
        .fetch_all(self.conn())
        .await?)
    }

    /// Interventions of a person (their facts change with the person's profile or episodes).
    pub async fn intervention_ids_of_person(&mut self, person_id: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM interventions WHERE person_id = $1 ORDER BY id")
            .bind(person_id)
            .fetch_all(self.conn())
            .await?)
    }

    /// Whether some intervention has no fact yet (two counts; finding which is a longer scan).
    pub async fn facts_missing(&mut self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST((SELECT COUNT(*) FROM interventions) - (SELECT COUNT(*) FROM report_facts) AS BIGINT)",
        )
        .fetch_one(self.conn())
        .await?;
        Ok(n > 0)
    }

    /// Interventions without a fact yet (written before the extract existed).
    pub async fn interventions_without_fact(&mut self) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT i.id FROM interventions i LEFT JOIN report_facts f ON f.intervention_id = i.id \
             WHERE f.intervention_id IS NULL ORDER BY i.id",
        )
        .fetch_all(self.conn())
        .await?)
    }
}

impl Tx<Write> {
    /// Inserts many rows with as few statements as the engines allow.
    pub async fn insert_many(&mut self, table: &str, columns: &str, rows: &[Vec<Value>]) -> Result<()> {
        self.insert_many_returning(table, columns, rows, None).await.map(|_| ())
    }

    /// Like `insert_many`, returning `(id, key)` for each row: `key` is a text column that
    /// identifies the row (multi-row RETURNING has no guaranteed order, so rows are matched by it).
    pub async fn insert_many_returning(
        &mut self,
        table: &str,
        columns: &str,
        rows: &[Vec<Value>],
        key: Option<&str>,
    ) -> Result<Vec<(i64, String)>> {
        let mut out = Vec::new();
        let Some(first) = rows.first() else { return Ok(out) };
        let width = first.len();
        let returning = key.map(|k| format!(" RETURNING id, {k}")).unwrap_or_default();
        let postgres = self.backend == Backend::Postgres;
        // PostgreSQL: one array per column through unnest (a few binds per statement instead of
        // tens of thousands); SQLite: a multi-row VALUES list with anonymous markers.
        let per_chunk = if postgres { 50_000 } else { (MAX_BINDS / width).max(1) };
        for chunk in rows.chunks(per_chunk) {
            let mut q;
            let sql;
            if postgres {
                let arrays: Vec<String> = (0..width).map(|j| pg_array(chunk.iter().map(|r| &r[j]))).collect();
                let casts: Vec<String> =
                    first.iter().enumerate().map(|(j, v)| format!("${}::{}[]", j + 1, v.pg_type())).collect();
                sql = format!("INSERT INTO {table} ({columns}) SELECT * FROM unnest({}){returning}", casts.join(", "));
                q = sqlx::query(&sql);
                for a in arrays {
                    q = q.bind(a);
                }
            } else {
                let mut text = format!("INSERT INTO {table} ({columns}) VALUES ");
                let row = format!("({})", vec!["?"; width].join(","));
                text.push_str(&vec![row; chunk.len()].join(","));
                text.push_str(&returning);
                sql = text;
                q = sqlx::query(&sql);
                for row in chunk {
                    for v in row {
                        q = match v {
                            Value::Int(i) => q.bind(*i),
                            // Borrowed: a million-row import binds tens of millions of texts.
                            Value::Text(t) => q.bind(t.as_deref()),
                            Value::Bool(b) => q.bind(*b),
                        };
                    }
                }
            }
            match key {
                Some(k) => {
                    for r in q.fetch_all(self.conn()).await? {
                        out.push((r.try_get("id")?, r.try_get(k)?));
                    }
                }
                None => {
                    q.execute(self.conn()).await?;
                }
            }
        }
        Ok(out)
    }

    /// The next revision, taken under the same lock as the audit chain on PostgreSQL, so that
    /// revisions become visible in the order they were assigned.
    /// Serialises writers of the extract across app servers until commit (the single writer
    /// does it on SQLite).
    pub(crate) async fn lock_extract(&mut self) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(724031)").execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Which of these interventions already have a fact.
    pub(crate) async fn facts_among(&mut self, ids: &[i64]) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        Ok(sqlx::query_scalar(&format!("SELECT intervention_id FROM report_facts WHERE intervention_id IN ({list})"))
            .fetch_all(self.conn())
            .await?)
    }

    pub(crate) async fn next_revision(&mut self) -> Result<i64> {
        self.lock_extract().await?;
        Ok(sqlx::query_scalar("SELECT CAST(COALESCE(MAX(revision), 0) + 1 AS BIGINT) FROM report_facts")
            .fetch_one(self.conn())
            .await?)
    }

    pub async fn upsert_fact(&mut self, f: &Fact) -> Result<()> {
        let revision = self.next_revision().await?;
        sqlx::query("DELETE FROM report_facts WHERE intervention_id = $1")
            .bind(f.intervention_id)
            .execute(self.conn())
            .await?;
        let mut row = vec![Value::Int(Some(revision))];
        row.extend(fact_values(f));
        self.insert_many("report_facts", &format!("revision, {FACT_COLUMNS}"), &[row]).await
    }

    /// New facts in bulk (historical import, synthetic data): one revision for the batch;
    /// those of a staging import stay invisible until it is published.
    pub async fn insert_facts(&mut self, facts: &[Fact], import_id: Option<i64>) -> Result<()> {
        let revision = self.next_revision().await?;
        let rows: Vec<Vec<Value>> = facts
            .iter()
            .map(|f| {
                let mut row = vec![Value::Int(Some(revision)), Value::Int(import_id)];
                row.extend(fact_values(f));
                row
            })
            .collect();
        self.insert_many("report_facts", &format!("revision, import_id, {FACT_COLUMNS}"), &rows).await
    }
}

/// What changed in the extract since a revision.
pub struct FactsSince {
    /// New and rewritten facts in revision order, with the revision of each.
    pub facts: Vec<(i64, Fact)>,
    /// The revision a reader has now seen everything up to: held back while an import is
    /// staging, whose facts already carry revisions but become visible only when it is
    /// published; until then they are left out and read again from here.
    pub watermark: i64,
}

impl Store {
    /// Facts written after `revision` and visible (not of a staging import), read in one
    /// snapshot of the reader pool, so loading a large extract never blocks writers.
    pub async fn facts_since(&self, revision: i64) -> Result<FactsSince> {
        let mut tx = self.read().await?;
        let rows = sqlx::query(&format!(
            "SELECT revision, {FACT_COLUMNS} FROM report_facts WHERE revision > $1 \
             AND COALESCE(import_id, 0) {} ORDER BY revision",
            crate::imports::NOT_STAGING
        ))
        .bind(revision)
        .fetch_all(tx.conn())
        .await?;
        let staging = tx.staging_revision().await?;
        tx.commit().await?;
        let facts = rows.iter().map(|r| Ok((r.try_get(0)?, fact_of(r)?))).collect::<Result<Vec<(i64, Fact)>>>()?;
        let seen = facts.last().map_or(revision, |(r, _)| *r);
        let watermark = match staging {
            Some(first) => seen.min(first - 1).max(revision),
            None => seen,
        };
        Ok(FactsSince { facts, watermark })
    }

    pub async fn fact_revision(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT CAST(COALESCE(MAX(revision), 0) AS BIGINT) FROM report_facts")
            .fetch_one(self.reader_pool())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_quote_what_postgres_would_misread() {
        let v = [
            Value::Text(Some(r#"a "b", {c} \d"#.into())),
            Value::Text(None),
            Value::Text(Some("NULL".into())),
            Value::Text(Some(String::new())),
        ];
        assert_eq!(pg_array(v.iter()), r#"{"a \"b\", {c} \\d",NULL,"NULL",""}"#);
        assert_eq!(pg_array([Value::Int(Some(-3)), Value::Int(None)].iter()), "{-3,NULL}");
        assert_eq!(pg_array([Value::Bool(Some(true)), Value::Bool(Some(false))].iter()), "{t,f}");
    }
}
