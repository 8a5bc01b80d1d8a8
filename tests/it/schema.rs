//! The two engines' migrations describe the same database. Runs where both engines are at
//! hand (the PostgreSQL run of the suite); the SQLite run checks its own schema is readable.

use crate::support::postgres_url;
use percorsi_service::Store;

async fn migrated_sqlite() -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("percorsi-schema-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("dir");
    let store = Store::connect(&format!("sqlite://{}/s.db?mode=rwc", dir.display())).await.expect("sqlite");
    store.migrate().await.expect("migrate sqlite");
    (store, dir)
}

#[tokio::test]
async fn both_engines_migrate_to_the_same_schema() {
    let (sqlite, dir) = migrated_sqlite().await;
    let lite = sqlite.schema_facts().await.expect("sqlite schema");
    assert!(lite.contains("column persons.code text not-null"), "the description reads the schema: {lite:#?}");
    assert!(lite.iter().any(|f| f.starts_with("foreign key interventions.person_id -> persons")), "{lite:#?}");
    sqlite.close().await;
    let _ = std::fs::remove_dir_all(dir);
    let Some(_) = postgres_url() else { return };
    let (pg, _, _) = crate::support::fresh_store().await;
    let post = pg.schema_facts().await.expect("postgres schema");
    let only_sqlite: Vec<_> = lite.difference(&post).collect();
    let only_postgres: Vec<_> = post.difference(&lite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the engines' schemas differ\nonly on SQLite: {only_sqlite:#?}\nonly on PostgreSQL: {only_postgres:#?}"
    );
}
