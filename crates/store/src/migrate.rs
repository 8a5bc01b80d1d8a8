//! Embedded, forward-only migrations, one directory per engine, run through sqlx's migrator
//! (checksums, locking on PostgreSQL, a transaction per migration).

use crate::{Backend, Result};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::AnyPool;
use std::borrow::Cow;

const SQLITE: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/sqlite/0001_foundation.sql")),
    (2, "protocol", include_str!("../migrations/sqlite/0002_protocol.sql")),
    (3, "reports", include_str!("../migrations/sqlite/0003_reports.sql")),
    (4, "projects", include_str!("../migrations/sqlite/0004_projects.sql")),
    (5, "network", include_str!("../migrations/sqlite/0005_network.sql")),
    (6, "assessment_coordination", include_str!("../migrations/sqlite/0006_assessment_coordination.sql")),
    (7, "installation", include_str!("../migrations/sqlite/0007_installation.sql")),
    (8, "balances", include_str!("../migrations/sqlite/0008_balances.sql")),
    (9, "access", include_str!("../migrations/sqlite/0009_access.sql")),
    (10, "objective_progress", include_str!("../migrations/sqlite/0010_objective_progress.sql")),
    (11, "login_throttle", include_str!("../migrations/sqlite/0011_login_throttle.sql")),
    (12, "authentication", include_str!("../migrations/sqlite/0012_authentication.sql")),
    (13, "fact_persons", include_str!("../migrations/sqlite/0013_fact_persons.sql")),
    (14, "fact_ends", include_str!("../migrations/sqlite/0014_fact_ends.sql")),
    (15, "funding_source", include_str!("../migrations/sqlite/0015_funding_source.sql")),
    (16, "import_staging", include_str!("../migrations/sqlite/0016_import_staging.sql")),
    (17, "extract_checkpoints", include_str!("../migrations/sqlite/0017_extract_checkpoints.sql")),
    (18, "code_aliases", include_str!("../migrations/sqlite/0018_code_aliases.sql")),
    (19, "restriction", include_str!("../migrations/sqlite/0019_restriction.sql")),
    (20, "documents", include_str!("../migrations/sqlite/0020_documents.sql")),
    (21, "person_access", include_str!("../migrations/sqlite/0021_person_access.sql")),
    (22, "pathway_steps", include_str!("../migrations/sqlite/0022_pathway_steps.sql")),
    (23, "deliveries", include_str!("../migrations/sqlite/0023_deliveries.sql")),
    (24, "directory", include_str!("../migrations/sqlite/0024_directory.sql")),
    (25, "bulk_exports", include_str!("../migrations/sqlite/0025_bulk_exports.sql")),
    (26, "intervention_counts", include_str!("../migrations/sqlite/0026_intervention_counts.sql")),
    (27, "bulk_export_parts", include_str!("../migrations/sqlite/0027_bulk_export_parts.sql")),
    (28, "visibility_indexes", include_str!("../migrations/sqlite/0028_visibility_indexes.sql")),
    (29, "counts_per_statement", include_str!("../migrations/sqlite/0029_counts_per_statement.sql")),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/postgres/0001_foundation.sql")),
    (2, "protocol", include_str!("../migrations/postgres/0002_protocol.sql")),
    (3, "reports", include_str!("../migrations/postgres/0003_reports.sql")),
    (4, "projects", include_str!("../migrations/postgres/0004_projects.sql")),
    (5, "network", include_str!("../migrations/postgres/0005_network.sql")),
    (6, "assessment_coordination", include_str!("../migrations/postgres/0006_assessment_coordination.sql")),
    (7, "installation", include_str!("../migrations/postgres/0007_installation.sql")),
    (8, "balances", include_str!("../migrations/postgres/0008_balances.sql")),
    (9, "access", include_str!("../migrations/postgres/0009_access.sql")),
    (10, "objective_progress", include_str!("../migrations/postgres/0010_objective_progress.sql")),
    (11, "login_throttle", include_str!("../migrations/postgres/0011_login_throttle.sql")),
    (12, "authentication", include_str!("../migrations/postgres/0012_authentication.sql")),
    (13, "fact_persons", include_str!("../migrations/postgres/0013_fact_persons.sql")),
    (14, "fact_ends", include_str!("../migrations/postgres/0014_fact_ends.sql")),
    (15, "funding_source", include_str!("../migrations/postgres/0015_funding_source.sql")),
    (16, "import_staging", include_str!("../migrations/postgres/0016_import_staging.sql")),
    (17, "extract_checkpoints", include_str!("../migrations/postgres/0017_extract_checkpoints.sql")),
    (18, "code_aliases", include_str!("../migrations/postgres/0018_code_aliases.sql")),
    (19, "restriction", include_str!("../migrations/postgres/0019_restriction.sql")),
    (20, "documents", include_str!("../migrations/postgres/0020_documents.sql")),
    (21, "person_access", include_str!("../migrations/postgres/0021_person_access.sql")),
    (22, "pathway_steps", include_str!("../migrations/postgres/0022_pathway_steps.sql")),
    (23, "deliveries", include_str!("../migrations/postgres/0023_deliveries.sql")),
    (24, "directory", include_str!("../migrations/postgres/0024_directory.sql")),
    (25, "bulk_exports", include_str!("../migrations/postgres/0025_bulk_exports.sql")),
    (26, "intervention_counts", include_str!("../migrations/postgres/0026_intervention_counts.sql")),
    (27, "bulk_export_parts", include_str!("../migrations/postgres/0027_bulk_export_parts.sql")),
    (28, "visibility_indexes", include_str!("../migrations/postgres/0028_visibility_indexes.sql")),
    (29, "counts_per_statement", include_str!("../migrations/postgres/0029_counts_per_statement.sql")),
];

pub async fn run(pool: &AnyPool, backend: Backend) -> Result<usize> {
    let list = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let migrations: Vec<Migration> = list
        .iter()
        .map(|(v, d, sql)| Migration::new(*v, Cow::Borrowed(*d), MigrationType::Simple, Cow::Borrowed(*sql), false))
        .collect();
    let count = migrations.len();
    let migrator = Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT };
    migrator.run(pool).await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    /// A migration file that is not listed would never run: every file is listed, in order,
    /// and both engines have the same migrations.
    #[test]
    fn every_migration_file_is_listed_for_both_engines() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for (engine, list) in [("sqlite", super::SQLITE), ("postgres", super::POSTGRES)] {
            let mut files: Vec<String> = std::fs::read_dir(dir.join(engine))
                .expect("migrations directory")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let listed: Vec<String> = list.iter().map(|(v, d, _)| format!("{v:04}_{d}.sql")).collect();
            assert_eq!(files, listed, "{engine}: files on disk and the embedded list");
            let versions: Vec<i64> = list.iter().map(|(v, _, _)| *v).collect();
            assert_eq!(versions, (1..=list.len() as i64).collect::<Vec<_>>(), "{engine}: versions 1, 2, 3…");
        }
        let names = |l: &[(i64, &str, &str)]| l.iter().map(|(v, d, _)| (*v, d.to_string())).collect::<Vec<_>>();
        assert_eq!(names(super::SQLITE), names(super::POSTGRES), "the same migrations on both engines");
    }
}
