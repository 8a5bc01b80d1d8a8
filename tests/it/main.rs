//! Integration suite: everything through HTTP against a real database. Runs on SQLite by
//! default and on PostgreSQL when PERCORSI_TEST_DATABASE_URL is set (see scripts/test.sh).

mod access;
mod admin;
mod api;
mod audit;
mod auth;
mod backup;
mod browser;
mod concurrency;
mod consents;
mod deliveries;
mod directory;
mod disclosure;
mod documents;
mod faults;
mod fhir;
mod imports;
mod installation;
mod limits;
mod matrix;
mod network;
mod opportunities;
mod own_page;
mod pathway_steps;
mod persons;
mod pg_outage;
mod projects;
mod protocol;
mod referrals;
mod reports;
mod retention;
mod roles;
mod schema;
mod second_factor;
mod support;
