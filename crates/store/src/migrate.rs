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
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/postgres/0001_foundation.sql")),
    (2, "protocol", include_str!("../migrations/postgres/0002_protocol.sql")),
    (3, "reports", include_str!("../migrations/postgres/0003_reports.sql")),
    (4, "projects", include_str!("../migrations/postgres/0004_projects.sql")),
    (5, "network", include_str!("../migrations/postgres/0005_network.sql")),
    (6, "assessment_coordination", include_str!("../migrations/postgres/0006_assessment_coordination.sql")),
    (7, "installation", include_str!("../migrations/postgres/0007_installation.sql")),
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
