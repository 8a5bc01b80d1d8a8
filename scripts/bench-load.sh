#!/usr/bin/env bash
# The load benchmark of docs/performance.md: synthetic data (≥ 400k interventions), then the
# mixed workload open-loop at several rates against real servers over HTTP:
#   SQLite, one server; PostgreSQL (a throwaway cluster), two servers on one database.
# Usage: scripts/bench-load.sh [sqlite|postgres|both] (default both). Takes about half an hour.
# Environment: INTERVENTIONS (400000), PERSONS (100000), RATES (100,300,500,1000), SECONDS (60).
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
interventions=${INTERVENTIONS:-400000}
persons=${PERSONS:-100000}
rates=${RATES:-100,300,500,1000}
seconds=${SECONDS_PER_RATE:-60}
cargo build --release --bin percorsi >/dev/null
bin=$PWD/target/release/percorsi
work=$(mktemp -d /tmp/percorsi-load.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

rss() { awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

wait_ready() {
  for _ in $(seq 1 100); do curl -fsS "$1/readyz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "server $1 not ready" >&2; return 1
}

# Fills the database, starts N servers, creates the tokens, runs the load, reports memory.
run_engine() {
  local name=$1 url=$2 servers=$3
  export PERCORSI_DATABASE_URL=$url PERCORSI_SECRET_FILE=$work/$name.key PERCORSI_LOG=warn,sqlx=error
  echo "## $name: generating $interventions interventions, $persons people"
  local t0=$SECONDS
  "$bin" bench-data --organisations 100 --persons "$persons" --interventions "$interventions" >/dev/null
  echo "generated in $((SECONDS - t0)) s"
  echo "percorsi-bench" | "$bin" user add --username analista-load --name "Analista" --org 1 --role analista --password-stdin >/dev/null
  local token analyst urls=() spids=()
  token=$("$bin" token create --user cm1 --name load --days 1 2>/dev/null)
  analyst=$("$bin" token create --user analista-load --name load --days 1 2>/dev/null)
  for i in $(seq 1 "$servers"); do
    local port=$((18080 + i))
    PERCORSI_LOG=info,sqlx=error,tower_http=warn "$bin" serve --bind "127.0.0.1:$port" >"$work/$name-$i.log" 2>&1 &
    pids+=($!); spids+=($!)
    urls+=(--url "http://127.0.0.1:$port")
    wait_ready "http://127.0.0.1:$port"
  done
  # The first report back-fills and loads the extract: measured here, not inside the load.
  local t1=$SECONDS
  for i in $(seq 1 "$servers"); do
    until grep -q "report extract loaded" "$work/$name-$i.log"; do
      sleep 0.5
      [ $((SECONDS - t1)) -lt 900 ] || { echo "extract not loaded" >&2; return 1; }
    done
  done
  echo "report extract loaded in $((SECONDS - t1)) s"
  echo "memory idle: $(for p in "${spids[@]}"; do rss "$p"; echo -n " "; done)"
  PERCORSI_BENCH_TOKEN=$token PERCORSI_BENCH_ANALYST_TOKEN=$analyst \
    "$bin" bench-load "${urls[@]}" --rates "$rates" --seconds "$seconds" --report-percent "${REPORT_PERCENT:-1}"
  echo "memory after the burst: $(for p in "${spids[@]}"; do rss "$p"; echo -n " "; done)"
  sleep 30
  echo "memory 30 s later: $(for p in "${spids[@]}"; do rss "$p"; echo -n " "; done)"
  echo "import of 200k rows and a CLI report while a server takes 100 req/s:"
  PERCORSI_BENCH_TOKEN=$token PERCORSI_BENCH_ANALYST_TOKEN=$analyst \
    "$bin" bench-load "${urls[@]}" --rates 100 --seconds 40 >"$work/$name-background.txt" &
  local load=$!
  sleep 2
  "$bin" bench-reports --interventions 200000 --organisations 20 --iterations 1 | grep -E "^(import|re-import)" || echo "  import FAILED"
  "$bin" report --programme "Programma storico sintetico" --format xlsx --out "$work/r.xlsx" >/dev/null && echo "  CLI report: ok" || echo "  CLI report FAILED"
  wait "$load"
  grep '^| 100 |' "$work/$name-background.txt" | sed 's/^/  background load: /'
  for p in "${spids[@]}"; do kill "$p" 2>/dev/null || true; done
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
}

if [ "$which" = sqlite ] || [ "$which" = both ]; then
  run_engine sqlite "sqlite://$work/load.db?mode=rwc" 1
fi
if [ "$which" = postgres ] || [ "$which" = both ]; then
  PERCORSI_PG_PORT=55499 scripts/with-postgres.sh bash -c "
    $(declare -f rss wait_ready run_engine)
    bin='$bin' work='$work' interventions='$interventions' persons='$persons' rates='$rates' seconds='$seconds' pids=()
    run_engine postgres \"\$PERCORSI_TEST_DATABASE_URL\" 2"
fi
