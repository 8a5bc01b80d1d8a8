//! Decoding helpers: dates and timestamps are stored as ISO text on both engines.

use crate::{Result, StoreError};
use chrono::{NaiveDate, SecondsFormat, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

pub fn date(row: &AnyRow, col: &str) -> Result<NaiveDate> {
    let s: String = row.try_get(col)?;
    parse_date(&s)
}

pub fn opt_date(row: &AnyRow, col: &str) -> Result<Option<NaiveDate>> {
    let s: Option<String> = row.try_get(col)?;
    s.as_deref().map(parse_date).transpose()
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("date {s:?}")))
}

pub fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Fixed-width UTC timestamps sort correctly as text.
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn bool_col(row: &AnyRow, col: &str) -> Result<bool> {
    // SQLite may hand back a BOOLEAN column as an integer depending on how it was written.
    match row.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(col)? != 0),
    }
}

/// An update or delete that must have touched a row: none means the target does not exist
/// (or is no longer in the state the change applies to).
pub fn found(rows_affected: u64) -> Result<()> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// A nullable flag: BOOLEAN on PostgreSQL, 0/1 on SQLite.
pub fn opt_bool(r: &AnyRow, col: &str) -> Result<Option<bool>> {
    match r.try_get::<Option<bool>, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => Ok(r.try_get::<Option<i64>, _>(col)?.map(|v| v != 0)),
    }
}

/// A `LIKE` pattern for text containing `q` (upper-cased: compare with `UPPER(column)`), with
/// the user's `%` and `_` taken out; empty when there is nothing to look for (the queries read
/// `$n = ''` as "everything").
pub fn contains_pattern(q: Option<&str>) -> String {
    q.map(|s| format!("%{}%", s.trim().to_uppercase().replace(['%', '_'], ""))).unwrap_or_default()
}
