//! A portable description of the schema as migrated, so that a test can prove the two engines'
//! migrations describe the same database (tables, columns, types modulo dialect, nullability,
//! indexes, foreign keys) instead of hoping they do.

use crate::{Backend, Result, Store};
use sqlx::Row;
use std::collections::BTreeSet;

/// One fact about the schema, e.g. `column persons.code text not-null`.
pub type SchemaFacts = BTreeSet<String>;

/// Column types reduced to what both engines mean by them. SQLite stores flags as INTEGER
/// (ADR 0002), so PostgreSQL's BOOLEAN counts as an integer here.
fn portable_type(raw: &str) -> &'static str {
    let t = raw.to_ascii_lowercase();
    if t.contains("int") || t == "boolean" || t == "bool" {
        "integer"
    } else if t.contains("char") || t == "text" {
        "text"
    } else if t == "blob" || t == "bytea" {
        "bytes"
    } else if t.contains("real") || t.contains("double") || t.contains("numeric") || t.contains("float") {
        "number"
    } else {
        "other"
    }
}

const SQLITE_COLUMNS: &str = "SELECT m.name AS t, p.name AS c, p.type AS ty, p.\"notnull\" AS nn, p.pk AS pk \
     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'";
const SQLITE_INDEXES: &str = "SELECT name AS i, tbl_name AS t FROM sqlite_master \
     WHERE type = 'index' AND sql IS NOT NULL AND tbl_name <> '_sqlx_migrations'";
const SQLITE_KEYS: &str = "SELECT m.name AS t, f.\"from\" AS c, f.\"table\" AS r FROM sqlite_master m \
     JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'";

const PG_COLUMNS: &str =
    "SELECT CAST(c.table_name AS TEXT) AS t, CAST(c.column_name AS TEXT) AS c, CAST(c.data_type AS TEXT) AS ty, \
     CAST(CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END AS BIGINT) AS nn, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM information_schema.key_column_usage k \
        JOIN information_schema.table_constraints tc ON tc.constraint_name = k.constraint_name \
        AND tc.table_name = k.table_name AND tc.constraint_type = 'PRIMARY KEY' \
        WHERE k.table_name = c.table_name AND k.column_name = c.column_name) THEN 1 ELSE 0 END AS BIGINT) AS pk \
     FROM information_schema.columns c JOIN information_schema.tables tb \
       ON tb.table_name = c.table_name AND tb.table_schema = c.table_schema AND tb.table_type = 'BASE TABLE' \
     WHERE c.table_schema = current_schema() AND c.table_name <> '_sqlx_migrations'";
const PG_INDEXES: &str = "SELECT CAST(i.indexname AS TEXT) AS i, CAST(i.tablename AS TEXT) AS t FROM pg_indexes i \
     WHERE i.schemaname = current_schema() AND i.tablename <> '_sqlx_migrations' \
     AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)";
const PG_KEYS: &str = "SELECT CAST(tc.table_name AS TEXT) AS t, CAST(k.column_name AS TEXT) AS c, CAST(u.table_name AS TEXT) AS r \
     FROM information_schema.table_constraints tc \
     JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema \
     JOIN information_schema.constraint_column_usage u ON u.constraint_name = tc.constraint_name AND u.table_schema = tc.table_schema \
     WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()";

impl Store {
    /// The schema as facts that read the same on both engines when the migrations agree.
    pub async fn schema_facts(&self) -> Result<SchemaFacts> {
        let (columns, indexes, keys) = match self.backend() {
            Backend::Sqlite => (SQLITE_COLUMNS, SQLITE_INDEXES, SQLITE_KEYS),
            Backend::Postgres => (PG_COLUMNS, PG_INDEXES, PG_KEYS),
        };
        let pool = self.reader_pool();
        let mut facts = SchemaFacts::new();
        for r in sqlx::query(columns).fetch_all(pool).await? {
            let (t, c, ty): (String, String, String) = (r.try_get("t")?, r.try_get("c")?, r.try_get("ty")?);
            let (nn, pk): (i64, i64) = (r.try_get("nn")?, r.try_get("pk")?);
            // A primary key is never null, whether or not the engine says so.
            let null = if nn != 0 || pk != 0 { "not-null" } else { "null" };
            facts.insert(format!("column {t}.{c} {} {null}{}", portable_type(&ty), if pk != 0 { " pk" } else { "" }));
        }
        for r in sqlx::query(indexes).fetch_all(pool).await? {
            let (i, t): (String, String) = (r.try_get("i")?, r.try_get("t")?);
            facts.insert(format!("index {t}.{i}"));
        }
        for r in sqlx::query(keys).fetch_all(pool).await? {
            let (t, c, target): (String, String, String) = (r.try_get("t")?, r.try_get("c")?, r.try_get("r")?);
            facts.insert(format!("foreign key {t}.{c} -> {target}"));
        }
        Ok(facts)
    }
}
