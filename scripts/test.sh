#!/usr/bin/env bash
# The whole test suite: formatting and lints, unit tests, the integration suite (HTTP, roles,
# audit, API, CLI, concurrency, faults, backup, headless Chromium journeys) on SQLite, the Debian
# package installed and served, then the same suite on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
export PERCORSI_REQUIRE_BROWSER=1

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== unit tests and integration suite on SQLite"
cargo test --workspace

echo "== Debian package: build, install, serve, remove"
scripts/package-test.sh dev

echo "== integration suite on PostgreSQL (with a second app server and an outage)"
scripts/with-postgres.sh cargo test --test it
