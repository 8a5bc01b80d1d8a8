#!/usr/bin/env bash
# Measures the outcome reports and the historical import at 10k, 100k and 1M interventions
# (about 100 organisations) on SQLite and on a throwaway PostgreSQL cluster, and DuckDB running
# the same fifteen tables on the same file (scripts/bench-duckdb.py), checked cell by cell
# against Percorsi's exact report. Release build.
# Usage: scripts/bench-reports.sh [sizes...]   (default: 10000 100000 1000000)
#        DUCKDB=0 scripts/bench-reports.sh      (without the DuckDB comparison)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-10000 100000 1000000}")
read -r -a sizes <<< "${sizes[*]}"
cargo build --release --quiet
bin=$PWD/target/release/percorsi
work=$(mktemp -d /tmp/percorsi-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
duckdb=""
if [ "${DUCKDB:-1}" != 0 ]; then
  # DuckDB from PyPI in a throwaway virtual environment, the version pinned.
  python3 -m venv "$work/venv" && "$work/venv/bin/pip" install --quiet duckdb==2.0.1 && duckdb="$work/venv/bin/python"
  [ -n "$duckdb" ] || echo "DuckDB could not be installed (python3-venv and PyPI needed): comparison skipped"
fi
for n in "${sizes[@]}"; do
  echo "== SQLite, $n interventions"
  rm -rf "$work/sqlite" && mkdir -p "$work/sqlite"
  db=(--database-url "sqlite://$work/sqlite/bench.db?mode=rwc" --secret-file "$work/sqlite/secret.key")
  "$bin" "${db[@]}" bench-reports --offline --interventions "$n" --iterations 10 --csv-out "$work/history.csv"
  if [ -n "$duckdb" ]; then
    echo "== DuckDB, the same $n interventions"
    "$bin" "${db[@]}" report --programme "Programma storico sintetico" --exact --format json --out "$work/exact.json"
    "$duckdb" scripts/bench-duckdb.py "$work/history.csv" --iterations 10 --check "$work/exact.json"
  fi
done
for n in "${sizes[@]}"; do
  echo "== PostgreSQL, $n interventions"
  scripts/with-postgres.sh sh -c "\"$bin\" --database-url \"\$PERCORSI_TEST_DATABASE_URL\" --secret-file \"$work/pg-secret.key\" bench-reports --offline --interventions $n --iterations 10"
done
