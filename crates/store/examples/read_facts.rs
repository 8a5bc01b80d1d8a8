//! How long reading the report facts row by row takes through sqlx, by column shape: the
//! measurement behind the extract checkpoints (docs/performance.md). Not a test.
//! `cargo run --release -p percorsi-store --example read_facts 'sqlite:///path/db?mode=ro'`
use sqlx::Row;
#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let url = std::env::args().nth(1).expect("database url");
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
    for (name, sql) in [
        ("text dates", "SELECT revision, intervention_id, programme_id, organisation_id, start_date, profile, person_id, end_date FROM report_facts"),
        ("integers", "SELECT revision, intervention_id, programme_id, organisation_id, profile, person_id FROM report_facts"),
        ("two integers", "SELECT intervention_id, profile FROM report_facts"),
    ] {
        let t = std::time::Instant::now();
        let rows = sqlx::query(sql).fetch_all(&pool).await.expect("rows");
        let n: i64 = rows.iter().map(|r| r.try_get::<i64, _>(1).unwrap_or(0)).sum();
        println!("{name}: {} rows in {} ms ({n})", rows.len(), t.elapsed().as_millis());
    }
    if url.starts_with("sqlite:") {
        let native = sqlx::SqlitePool::connect(&url).await.expect("native");
        for (name, sql) in [
            ("native text dates", "SELECT revision, intervention_id, programme_id, organisation_id, start_date, profile, person_id, end_date FROM report_facts"),
            ("native integers", "SELECT revision, intervention_id, programme_id, organisation_id, profile, person_id FROM report_facts"),
        ] {
            let t = std::time::Instant::now();
            let rows = sqlx::query(sql).fetch_all(&native).await.expect("rows");
            let n: i64 = rows.iter().map(|r| r.try_get::<i64, _>(1).unwrap_or(0)).sum();
            println!("{name}: {} rows in {} ms ({n})", rows.len(), t.elapsed().as_millis());
        }
    }
}
