#!/usr/bin/env bash
# bench/run.sh: the benchmark, in one run on one machine against one
# PostgreSQL cluster.
#
#   bench/run.sh [--quick] [--concurrency "1 8 32 128"] [--duration-s 10]
#                [--warmup-s 1] [--actors "10000 100000"]
#                [--scenarios "create_intent idempotent_replay full_flow webhook_ingest"]
#                [--seed-workers N] [--stats-flush-s 11]
#
# Needs PAYMENTS_TEST_DATABASE_URL (an admin URL of a role that may CREATE
# DATABASE; ./dev.sh bench sets it) and the built programs in
# PAYMENTS_BUILD_DIR (default: build/). Steps:
#   1. machine facts: cores, memory, PostgreSQL version and settings;
#   2. the baselines, at every concurrency of the sweep: Debian's pgbench, a
#      one-row INSERT per transaction, synchronous_commit on; psp-sandbox
#      alone creating intents (loadgen sandbox_create); the seed-style service
#      (bench/seed_service: Express + pg + Stripe's Node SDK, node cluster
#      with --seed-workers processes, default one per core) creating intents
#      against the same sandbox and cluster;
#   3. paymentsd on a free port, a merchant made by paymentsctl, then every
#      engine scenario at the same concurrencies (bench/loadgen);
#   4. resident memory of live intent actors (bench/actor_memory);
#   5. bench/results/latest.json and latest.md (--quick: quick.json/.md),
#      and the table on stdout.
# Around every point it reads PostgreSQL's own counters for the database
# measured (pg_stat_database; pg_stat_statements when the cluster preloads
# it, as ./dev.sh's does), waiting --stats-flush-s after the point for the
# backends to publish them (PostgreSQL 15 flushes an idle backend's
# counters after 10 s; --quick waits 0 and reports no commit counts).
# Every process it starts is stopped and every database it creates is dropped
# on exit, also on failure or Ctrl-C. It only ever talks to 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="${PAYMENTS_BUILD_DIR:-$ROOT/build}"
PG_BIN=/usr/lib/postgresql/15/bin
RESULTS="$ROOT/bench/results"

QUICK=0
CONCURRENCY="1 8 32 128"
DURATION_S=10
WARMUP_S=1
ACTORS="10000 100000"
REQUESTS_MAX=1000000
REPLAY_KEYS=200
SEED_WORKERS=$(nproc)
# PostgreSQL 15 publishes an idle backend's pending counters 10 s after its
# last transaction (PGSTAT_IDLE_INTERVAL): a read sooner misses the tail.
STATS_FLUSH_S=11
SCENARIOS="create_intent idempotent_replay full_flow webhook_ingest"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick)
      QUICK=1 CONCURRENCY="1 4" DURATION_S=2 WARMUP_S=0.5 ACTORS="100" REQUESTS_MAX=100000
      REPLAY_KEYS=20 STATS_FLUSH_S=0
      shift ;;
    --seed-workers) SEED_WORKERS="$2"; shift 2 ;;
    --stats-flush-s) STATS_FLUSH_S="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --duration-s) DURATION_S="$2"; shift 2 ;;
    --warmup-s) WARMUP_S="$2"; shift 2 ;;
    --actors) ACTORS="$2"; shift 2 ;;
    --scenarios) SCENARIOS="$2"; shift 2 ;;
    -h | --help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
OUT_NAME=latest
[ "$QUICK" -eq 1 ] && OUT_NAME=quick
# A run of some scenarios only never replaces the full report.
[ "$SCENARIOS" != "create_intent idempotent_replay full_flow webhook_ingest" ] &&
  [ "$QUICK" -eq 0 ] && OUT_NAME=partial

say() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

ADMIN_URL="${PAYMENTS_TEST_DATABASE_URL:-}"
[ -n "$ADMIN_URL" ] || die "PAYMENTS_TEST_DATABASE_URL is not set (run through ./dev.sh bench)"
for prog in apps/paymentsd apps/paymentsctl apps/psp-sandbox bench/loadgen bench/actor_memory; do
  [ -x "$BUILD/$prog" ] || die "$BUILD/$prog is not built"
done
[ -x "$PG_BIN/pgbench" ] || die "$PG_BIN/pgbench is missing (Debian's postgresql-15)"
command -v psql >/dev/null || die "psql is missing (postgresql-client-15)"
command -v python3 >/dev/null || die "python3 is missing (it assembles the report)"

# ---- clean-up: every process and database this run made ----------------------

WORK=$(mktemp -d /tmp/payments-bench.XXXXXX)
PIDS=()
DATABASES=()
FAILED=1

# Stops what this run started: SIGTERM, then SIGKILL after STOP_GRACE_S.
# paymentsd waits for its live intent actors to passivate on SIGTERM (up to
# their 60 s idle time), which a benchmark need not sit through: its database
# is dropped afterwards anyway.
STOP_GRACE_S=5
stop_processes() {
  local pid name
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq $((STOP_GRACE_S * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      name=$(ps -o comm= -p "$pid" 2>/dev/null || true)
      say "$name (pid $pid) still running ${STOP_GRACE_S}s after SIGTERM; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_processes
  local db
  for db in "${DATABASES[@]}"; do
    psql "$ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 ||
      say "warning: could not drop database $db"
  done
  if [ "$FAILED" -eq 1 ] && [ "$status" -ne 0 ]; then
    local log
    for log in "$WORK"/*.log; do
      [ -s "$log" ] || continue
      say "--- last lines of $(basename "$log")"
      tail -5 "$log" >&2
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A database URL next to the admin URL: same server and role, other name.
database_url() {
  local base="${ADMIN_URL%%\?*}" query=""
  [ "$base" != "$ADMIN_URL" ] && query="?${ADMIN_URL#*\?}"
  echo "${base%/*}/$1$query"
}

# Creates a database for this run (remembered for the clean-up) and sets
# DB_URL; not in a subshell, so the name reaches the clean-up.
DB_URL=""
make_database() {
  local name
  name="bench_$(date +%s)_$$_$1"
  DATABASES+=("$name")
  psql "$ADMIN_URL" -qAtc "CREATE DATABASE \"$name\"" >/dev/null
  DB_URL=$(database_url "$name")
}

pg_setting() { psql "$ADMIN_URL" -qAtc "SHOW $1"; }

wait_for_file() {  # path seconds
  local deadline=$((SECONDS + $2))
  until [ -s "$1" ]; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

wait_for_http() {  # url seconds
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

RESULTS_JSONL="$WORK/results.jsonl"
: >"$RESULTS_JSONL"
record() { echo "$1" >>"$RESULTS_JSONL"; }

# ---- 1. the machine -------------------------------------------------------------

NPROC=$(nproc)
say "machine: $NPROC cores; PostgreSQL $(pg_setting server_version)"
python3 - "$WORK/machine.json" <<EOF
import json, platform, sys
mem = 0
with open("/proc/meminfo") as f:
    for line in f:
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) * 1024
cpu = ""
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
machine = {
    "cores": $NPROC,
    "cpu": cpu,
    "memory_bytes": mem,
    "kernel": platform.release(),
    # Other work on the machine skews every number: the load average at the
    # start and (added by the report) at the end say how quiet it was.
    "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    "date_utc": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
    "commit": "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)",
    "tree_dirty": $( [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ] && echo True || echo False),
    "quick": bool($QUICK),
    "duration_s_per_point": float("$DURATION_S"),
    "warmup_s_per_point": float("$WARMUP_S"),
    "postgresql": {
        "version": "$(pg_setting server_version)",
        "synchronous_commit": "$(pg_setting synchronous_commit)",
        "fsync": "$(pg_setting fsync)",
        "shared_buffers": "$(pg_setting shared_buffers)",
        "wal_sync_method": "$(pg_setting wal_sync_method)",
        "commit_delay": "$(pg_setting commit_delay)",
        "max_connections": "$(pg_setting max_connections)",
    },
    "engine": {"http_threads": 2, "actor_threads": 2, "storage_connections": 4,
               "log_level": "warn", "note": "paymentsd defaults except the log level"},
    "loadgen": {"threads": 1, "connections_keep_alive": True, "closed_loop": True,
                "note": "closed loop, except the create_intent point at half of peak (--rate)"},
}
json.dump(machine, open(sys.argv[1], "w"), indent=2)
EOF

# ---- PostgreSQL's own counters around each point ----------------------------------

# pg_stat_statements counts every statement a backend ran (utility ones such
# as BEGIN, COMMIT and SAVEPOINT too) as soon as it ends; it needs the
# cluster to preload it (./dev.sh starts its cluster so). Its view is read
# through a database of this run's own, where the extension is created and
# dropped with it, so nothing is left in the cluster.
make_database stats
STATS_URL=$DB_URL
STATEMENTS=0
if psql "$ADMIN_URL" -qAtc "SHOW shared_preload_libraries" | grep -q pg_stat_statements &&
  psql "$STATS_URL" -qAtc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1; then
  STATEMENTS=1
fi
say "pg_stat_statements: $([ $STATEMENTS -eq 1 ] && echo loaded || echo 'not loaded (statement counts are not reported)')"
record "{\"kind\":\"stats_setup\",\"pg_stat_statements\":$([ $STATEMENTS -eq 1 ] && echo true || echo false),\"stats_flush_s\":$STATS_FLUSH_S}"

# One JSON object of a database's counters: its transactions and rows
# written (pg_stat_database), the cluster's next transaction id (every write
# transaction takes one: instant, cluster-wide) and, with
# pg_stat_statements, its statements (all, and those that are not
# transaction control).
db_counters() {  # database name
  local statements="NULL::numeric" dml="NULL::numeric"
  if [ "$STATEMENTS" -eq 1 ]; then
    statements="(SELECT sum(calls) FROM pg_stat_statements s WHERE s.dbid = d.datid)"
    dml="(SELECT sum(calls) FROM pg_stat_statements s WHERE s.dbid = d.datid
            AND s.query !~* '^\s*(begin|start|commit|end|rollback|savepoint|release|prepare transaction|set|reset|show|deallocate|discard)\M')"
  fi
  psql "$STATS_URL" -qAtc "SELECT json_build_object(
      'xact_commit', d.xact_commit, 'xact_rollback', d.xact_rollback,
      'rows_written', d.tup_inserted + d.tup_updated + d.tup_deleted,
      'next_xid', pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
      'statements', $statements, 'dml_statements', $dml)
    FROM pg_stat_database d WHERE d.datname = '$1'"
}
db_name() { local u="${1%%\?*}"; echo "${u##*/}"; }
flush_stats() { [ "$STATS_FLUSH_S" = 0 ] || sleep "$STATS_FLUSH_S"; }

# ---- 2. the baselines -----------------------------------------------------------

# 2a. pgbench: one-row INSERT commits.
make_database pgbench
PGBENCH_URL=$DB_URL
psql "$PGBENCH_URL" -qAtc "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, payload text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now())" >/dev/null
echo "INSERT INTO bench_rows (payload) VALUES ('one durable row');" >"$WORK/insert.sql"
MAX_CONN=$(pg_setting max_connections)
for c in $CONCURRENCY; do
  # pgbench holds one connection per client: stay under max_connections,
  # leaving room for the reserved slots and whatever else uses the cluster.
  used=$(psql "$ADMIN_URL" -qAtc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
  room=$((MAX_CONN - $(pg_setting superuser_reserved_connections) - used - 10))
  clients=$c
  [ "$clients" -gt "$room" ] && clients=$room
  [ "$clients" -ge 1 ] || die "no connection slots left for pgbench (max_connections $MAX_CONN)"
  threads=$((clients < NPROC ? clients : NPROC))
  say "baseline: pgbench, $clients clients, $threads threads, ${DURATION_S}s"
  before=$(db_counters "$(db_name "$PGBENCH_URL")")
  PGOPTIONS='-c synchronous_commit=on' "$PG_BIN/pgbench" -n -M prepared -f "$WORK/insert.sql" \
    -c "$clients" -j "$threads" -T "${DURATION_S%.*}" "$PGBENCH_URL" >"$WORK/pgbench_$c.log" 2>&1 ||
    die "pgbench failed: $(tail -3 "$WORK/pgbench_$c.log")"
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$WORK/pgbench_$c.log" | head -1)
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$WORK/pgbench_$c.log" | head -1)
  [ -n "$tps" ] || die "no tps in pgbench's output"
  txs=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/pgbench_$c.log" | head -1)
  sleep 0.5  # pgbench's backends have exited, which publishes their counters
  after=$(db_counters "$(db_name "$PGBENCH_URL")")
  record "{\"kind\":\"baseline\",\"concurrency\":$c,\"clients\":$clients,\"ops_per_s\":$tps,\"latency_avg_ms\":${lat:-null},\"ops_all\":${txs:-null},\"pg\":{\"before\":$before,\"after\":$after}}"
done

# 2b. The sandbox PSP alone: the engine's PSP create sent straight to it.
API_KEY="sk_test_bench_$(openssl rand -hex 16)"
SEED_API_KEY="sk_test_seed_bench_$(openssl rand -hex 16)"
SANDBOX_SECRET="sk_test_sbx_bench_$(openssl rand -hex 16)"
SANDBOX_PUBLISHABLE="pk_test_sbx_bench_$(openssl rand -hex 16)"
WEBHOOK_SECRET="whsec_bench_$(openssl rand -hex 16)"

# The sandbox keeps every object in memory up to --objects-max; a long run
# creates far more than the default 100,000.
SANDBOX_SECRET_KEY="$SANDBOX_SECRET" SANDBOX_PUBLISHABLE_KEY="$SANDBOX_PUBLISHABLE" \
  "$BUILD/apps/psp-sandbox" --port 0 --port-file "$WORK/sandbox.port" --objects-max 10000000 \
  >"$WORK/psp-sandbox.out" 2>"$WORK/psp-sandbox.log" &
SANDBOX_PID=$!
PIDS+=("$SANDBOX_PID")
wait_for_file "$WORK/sandbox.port" 30 || die "psp-sandbox did not start"
SANDBOX_URL="http://127.0.0.1:$(head -1 "$WORK/sandbox.port")"
wait_for_http "$SANDBOX_URL/healthz" 30 || die "psp-sandbox is not healthy"
say "sandbox $SANDBOX_URL"

# ---- CPU per process around each point ----------------------------------------

# The CPU time (user + system, from /proc/<pid>/stat) each process spent
# during a point, by role: the service under test (paymentsd, or the seed
# service with its worker processes), the sandbox PSP, and PostgreSQL (every
# process pg_stat_activity lists: client backends, WAL writer, checkpointer
# and the rest; the postmaster does no per-request work). The load
# generator reports its own (getrusage). Each role's figure is the sum over
# the processes alive at the end of the point (one started during it, such as
# a pool's new connection, counts whole); a process that exited during the
# point is not counted.
CLK_TCK=$(getconf CLK_TCK)
service_pids() {  # kind
  case "$1" in
    engine*) echo "${ENGINE_PID:-}" ;;
    seed) echo "${SEED_PID:-} $(pgrep -P "${SEED_PID:-0}" | tr '\n' ' ')" ;;
    *) echo "" ;;
  esac
}
cpu_snapshot() {  # kind: lines "role pid ticks"
  local pid
  {
    for pid in $(service_pids "$1"); do echo "service $pid"; done
    echo "sandbox $SANDBOX_PID"
    for pid in $(psql "$STATS_URL" -qAtc "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()"); do
      echo "postgresql $pid"
    done
  } | while read -r role pid; do
    # Fields after "pid (comm) ": 12 utime, 13 stime (clock ticks).
    [ -r "/proc/$pid/stat" ] || continue
    sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk -v r="$role" -v p="$pid" '{print r, p, $12 + $13}' || true
  done
}
cpu_delta_json() {  # before-file after-file: {"service_ms":..,"sandbox_ms":..,"postgresql_ms":..}
  awk -v tck="$CLK_TCK" 'NR == FNR { before[$1 " " $2] = $3; next }
    { ms[$1] += ($3 - (($1 " " $2) in before ? before[$1 " " $2] : 0)) * 1000 / tck }
    END { printf "{\"service_ms\":%d,\"sandbox_ms\":%d,\"postgresql_ms\":%d}",
          ms["service"], ms["sandbox"], ms["postgresql"] }' "$1" "$2"
}

# Runs one loadgen point and records it with the counters of the database
# it loads ("" for none) and the CPU each process spent.
run_point() {  # kind scenario concurrency url api_key database [loadgen flags...]
  local kind=$1 scenario=$2 c=$3 url=$4 key=$5 db=$6
  shift 6
  local out="$WORK/loadgen_${kind}_${scenario}_$c.json"
  [ "$kind" = engine ] && settle
  local load before=null after=null
  load=$(cut -d' ' -f1 /proc/loadavg)
  say "$kind: $scenario at concurrency $c, ${DURATION_S}s (load average $load)"
  [ -n "$db" ] && before=$(db_counters "$db")
  cpu_snapshot "$kind" >"$WORK/cpu_before"
  LOADGEN_API_KEY="$key" LOADGEN_PUBLISHABLE_KEY="$SANDBOX_PUBLISHABLE" \
    LOADGEN_WEBHOOK_SECRET="$WEBHOOK_SECRET" \
    "$BUILD/bench/loadgen" --scenario "$scenario" --url "$url" --sandbox-url "$SANDBOX_URL" \
    --concurrency "$c" --duration-s "$DURATION_S" --warmup-s "$WARMUP_S" \
    --requests-max "$REQUESTS_MAX" --replay-keys "$REPLAY_KEYS" "$@" >"$out" 2>"$WORK/loadgen.log" ||
    die "loadgen $scenario ($kind) failed: $(tail -3 "$WORK/loadgen.log")"
  cpu_snapshot "$kind" >"$WORK/cpu_after"
  local cpu
  cpu=$(cpu_delta_json "$WORK/cpu_before" "$WORK/cpu_after")
  if [ -n "$db" ]; then
    flush_stats
    after=$(db_counters "$db")
  fi
  record "{\"kind\":\"$kind\",\"loadavg_1m_before\":$load,\"stats_flush_s\":$STATS_FLUSH_S,\"pg\":{\"before\":$before,\"after\":$after},\"cpu\":$cpu,\"result\":$(cat "$out")}"
  say "  $(cat "$out")"
}
settle() { :; }  # replaced once the engine runs (below)

for c in $CONCURRENCY; do
  run_point sandbox sandbox_create "$c" "$SANDBOX_URL" "$SANDBOX_SECRET" ""
done

# 2c. The seed-style service: Express + pg + Stripe's Node SDK
# (bench/seed_service), same sandbox, same cluster, its own database.
SEED_DIR="$ROOT/bench/seed_service"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  record '{"kind":"missing","name":"seed_create_intent","note":"not measured: node and npm are not installed"}'
  say "warning: node/npm missing; the seed-style service is not measured"
else
  if [ ! -f "$SEED_DIR/node_modules/.package-lock.json" ] ||
    [ "$SEED_DIR/package-lock.json" -nt "$SEED_DIR/node_modules/.package-lock.json" ]; then
    say "installing the seed service's npm packages (npm ci, pinned by package-lock.json)"
    (cd "$SEED_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
      die "npm ci failed in bench/seed_service"
  fi
  make_database seed
  SEED_DB=$(db_name "$DB_URL")
  SEED_DATABASE_URL="$DB_URL" SEED_API_KEY="$SEED_API_KEY" SEED_PSP_URL="$SANDBOX_URL" \
    SEED_PSP_SECRET_KEY="$SANDBOX_SECRET" SEED_PORT=0 SEED_PORT_FILE="$WORK/seed.port" \
    SEED_WORKERS="$SEED_WORKERS" node "$SEED_DIR/server.js" \
    >"$WORK/seed_service.out" 2>"$WORK/seed_service.log" &
  SEED_PID=$!
  PIDS+=("$SEED_PID")
  wait_for_file "$WORK/seed.port" 60 || die "the seed service did not start"
  SEED_URL="http://127.0.0.1:$(head -1 "$WORK/seed.port")"
  wait_for_http "$SEED_URL/healthz" 30 || die "the seed service is not healthy"
  say "seed service $SEED_URL ($SEED_WORKERS processes)"
  record "{\"kind\":\"seed_setup\",\"workers\":$SEED_WORKERS,\"pool_max_per_worker\":10,\"node\":\"$(node --version)\"}"
  for c in $CONCURRENCY; do
    run_point seed create_intent "$c" "$SEED_URL" "$SEED_API_KEY" "$SEED_DB"
  done
  # Stopped before the engine runs, so it uses no CPU there.
  kill -TERM "$SEED_PID" 2>/dev/null || true
  for _ in $(seq $((STOP_GRACE_S * 10))); do kill -0 "$SEED_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SEED_PID" 2>/dev/null || true  # its workers exit when it does
  wait "$SEED_PID" 2>/dev/null || true
  unset 'PIDS[-1]'
fi

# ---- 3. the engine ----------------------------------------------------------------

make_database engine
ENGINE_DB_URL=$DB_URL
ENGINE_DB=$(db_name "$ENGINE_DB_URL")

PAYMENTS_DATABASE_URL="$ENGINE_DB_URL" "$BUILD/apps/paymentsctl" migrate >/dev/null
PAYMENTS_DATABASE_URL="$ENGINE_DB_URL" PAYMENTS_API_KEY="$API_KEY" \
  "$BUILD/apps/paymentsctl" merchant ensure --name bench >/dev/null

# The bench is one merchant at full speed: its API token bucket (a fairness
# limit between merchants) is opened so the bench measures the engine, not
# the rate limiter.
PAYMENTS_DATABASE_URL="$ENGINE_DB_URL" PAYMENTS_PORT=0 PAYMENTS_PORT_FILE="$WORK/engine.port" \
  PAYMENTS_PSP_BASE_URL="$SANDBOX_URL" PAYMENTS_PSP_SECRET_KEY="$SANDBOX_SECRET" \
  PAYMENTS_WEBHOOK_SECRET="$WEBHOOK_SECRET" PAYMENTS_LOG_LEVEL=warn \
  PAYMENTS_API_RATE_BURST=1000000 PAYMENTS_API_RATE_REFILL_MS=1 \
  "$BUILD/apps/paymentsd" >"$WORK/paymentsd.out" 2>"$WORK/paymentsd.log" &
ENGINE_PID=$!
PIDS+=("$ENGINE_PID")
wait_for_file "$WORK/engine.port" 60 || die "paymentsd did not start"
ENGINE_URL="http://127.0.0.1:$(head -1 "$WORK/engine.port")"
wait_for_http "$ENGINE_URL/readyz" 60 || die "paymentsd is not ready"
say "engine $ENGINE_URL"

# Does the engine receive webhooks yet? An unsigned POST is refused with
# invalid_signature by a receiver, with route_not_found when there is none.
probe=$(curl -s -X POST -H 'Content-Type: application/json' -d '{}' \
  "$ENGINE_URL/v1/webhooks/sandbox" || true)
WEBHOOKS=0
case "$probe" in *invalid_signature*) WEBHOOKS=1 ;; esac
say "webhook receiver: $([ $WEBHOOKS -eq 1 ] && echo present || echo absent)"

set_sandbox_webhooks() {  # url ("" turns deliveries off)
  curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $SANDBOX_SECRET" \
    -H 'Content-Type: application/json' \
    -d "{\"url\":\"$1\",\"secret\":\"$WEBHOOK_SECRET\"}" "$SANDBOX_URL/_sandbox/webhook_endpoint"
}

# Waits (at most SETTLE_S) until the engine's webhook inbox has no pending
# events, so that work left behind by one scenario (events the sandbox sent
# during the full flow, ingested events) is not measured as part of the
# next. Reads the engine's own table; skipped when it does not exist.
SETTLE_S=120
[ "$QUICK" -eq 1 ] && SETTLE_S=10
settle() {
  local deadline=$((SECONDS + SETTLE_S)) pending
  while true; do
    pending=$(psql "$ENGINE_DB_URL" -qAtc "SELECT count(*) FROM webhook_inbox
      WHERE processed_at IS NULL AND dead_lettered_at IS NULL" 2>/dev/null) || return 0
    [ "$pending" -eq 0 ] && return 0
    if [ $SECONDS -ge "$deadline" ]; then
      say "warning: $pending webhook events still pending after ${SETTLE_S}s; measuring anyway"
      return 0
    fi
    sleep 1
  done
}

run_loadgen() {  # scenario concurrency [loadgen flags...]
  local scenario=$1 c=$2
  shift 2
  run_point engine "$scenario" "$c" "$ENGINE_URL" "$API_KEY" "$ENGINE_DB" "$@"
}

# p99 at half of peak, measured rather than read off the sweep: creates
# paced at half of the sweep's best rate (loadgen --rate: latency counted
# from when each create was due), on as many connections as the sweep's
# largest point, so the pace never waits for a free connection.
half_peak_point() {
  local peak half cmax=0 c
  peak=$(python3 -c 'import json, sys
print(max(json.load(open(f))["ops_per_s"] for f in sys.argv[1:]))' \
    "$WORK"/loadgen_engine_create_intent_*.json)
  half=$(python3 -c "print(round($peak / 2, 1))")
  for c in $CONCURRENCY; do [ "$c" -gt "$cmax" ] && cmax=$c; done
  if python3 -c "import sys; sys.exit(0 if $half >= 1 else 1)"; then
    run_point engine_half_peak create_intent "$cmax" "$ENGINE_URL" "$API_KEY" "$ENGINE_DB" \
      --rate "$half"
  else
    say "warning: create_intent's peak is $peak/s; no point at half of it"
  fi
}

wanted() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if wanted create_intent; then
  for c in $CONCURRENCY; do run_loadgen create_intent "$c"; done
  half_peak_point
fi
wanted idempotent_replay && for c in $CONCURRENCY; do run_loadgen idempotent_replay "$c"; done
# The full flow with the PSP's webhooks flowing into the engine as in
# production (when the engine can receive them).
if wanted full_flow; then
  [ "$WEBHOOKS" -eq 1 ] && set_sandbox_webhooks "$ENGINE_URL/v1/webhooks/sandbox"
  for c in $CONCURRENCY; do run_loadgen full_flow "$c"; done
  [ "$WEBHOOKS" -eq 1 ] && set_sandbox_webhooks ""
fi
record "{\"kind\":\"flow_webhooks\",\"enabled\":$([ $WEBHOOKS -eq 1 ] && echo true || echo false)}"
# Ingestion last: the events it stores keep the engine's webhook worker busy
# for a while after the run, which would slow whatever came next.
if ! wanted webhook_ingest; then
  :
elif [ "$WEBHOOKS" -eq 1 ]; then
  for c in $CONCURRENCY; do run_loadgen webhook_ingest "$c"; done
else
  record '{"kind":"missing","name":"webhook_ingest","note":"not measured yet: the engine has no POST /v1/webhooks/{psp} receiver in this build"}'
fi

# The engine and the sandbox are done; stop them before measuring memory.
say "stopping the engine and the sandbox"
stop_processes

# ---- 4. memory of live intent actors ------------------------------------------

for n in $ACTORS; do
  say "memory: $n live intent actors"
  make_database "memory_$n"
  mem_url=$DB_URL
  PAYMENTS_DATABASE_URL="$mem_url" PAYMENTS_LOG_LEVEL=warn "$BUILD/bench/actor_memory" --actors "$n" \
    >"$WORK/memory_$n.json" 2>"$WORK/actor_memory.log" ||
    die "actor_memory failed: $(tail -3 "$WORK/actor_memory.log")"
  record "{\"kind\":\"memory\",\"result\":$(cat "$WORK/memory_$n.json")}"
  psql "$ADMIN_URL" -qAtc "DROP DATABASE IF EXISTS \"${DATABASES[-1]}\" WITH (FORCE)" >/dev/null
  unset 'DATABASES[-1]'
done

# ---- 5. the report ----------------------------------------------------------------

record "{\"kind\":\"loadavg_end\",\"value\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
mkdir -p "$RESULTS"
python3 "$ROOT/bench/report.py" "$WORK/machine.json" "$RESULTS_JSONL" \
  "$RESULTS/$OUT_NAME.json" "$RESULTS/$OUT_NAME.md"
cat "$RESULTS/$OUT_NAME.md"
say "wrote $RESULTS/$OUT_NAME.json and $RESULTS/$OUT_NAME.md"
FAILED=0
