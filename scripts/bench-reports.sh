#!/usr/bin/env bash
# Measures the outcome reports and the historical import at 10k, 100k and 1M interventions
# (about 100 organisations) on SQLite and on a throwaway PostgreSQL cluster. Release build.
# Usage: scripts/bench-reports.sh [sizes...]   (default: 10000 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-10000 100000 1000000}")
read -r -a sizes <<< "${sizes[*]}"
cargo build --release --quiet
bin=$PWD/target/release/percorsi
work=$(mktemp -d /tmp/percorsi-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for n in "${sizes[@]}"; do
  echo "== SQLite, $n interventions"
  rm -rf "$work/sqlite" && mkdir -p "$work/sqlite"
  "$bin" --database-url "sqlite://$work/sqlite/bench.db?mode=rwc" --secret-file "$work/sqlite/secret.key" \
    bench-reports --interventions "$n" --iterations 10
done
for n in "${sizes[@]}"; do
  echo "== PostgreSQL, $n interventions"
  scripts/with-postgres.sh sh -c "\"$bin\" --database-url \"\$PERCORSI_TEST_DATABASE_URL\" --secret-file \"$work/pg-secret.key\" bench-reports --interventions $n --iterations 10"
done
