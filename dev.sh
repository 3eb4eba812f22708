#!/usr/bin/env bash
# The project's one entry point for developers and CI.
#
#   ./dev.sh run     install what is missing, build, start PostgreSQL, the
#                    sandbox PSP and the engine; stay in the foreground until
#                    SIGINT/SIGTERM, then stop everything it started.
#   ./dev.sh test    the same set-up, then every test (ctest).
#   ./dev.sh build   install what is missing and build only.
#   ./dev.sh bench   the same set-up, then the benchmarks (bench/run.sh).
#   ./dev.sh storm [--minutes N] [--seed S] [--psps stripe,adyen,paypal] [--outage on]
#                    build, then the crash storm (tests/storm/storm.js, see
#                    docs/reliability.md) in its own PostgreSQL cluster;
#                    payments spread over the PSPs named (default all three);
#                    with --outage on, one PSP at a time goes down.
#   ./dev.sh test --sanitize
#                    every test, built with ASan and UBSan in build-sanitize/.
#   ./dev.sh test --sanitize=thread
#                    the integration tests (the engine's actors at work),
#                    built with ThreadSanitizer in build-tsan/.
#   ./dev.sh fuzz [--seconds N] [--runs N] [TARGET]
#                    build the libFuzzer targets (clang, ASan, UBSan) in
#                    build-fuzz/ and run each (or TARGET) for N seconds (60),
#                    or for N executions with --runs (no time limit then,
#                    unless --seconds is given too).
#
# With PAYMENTS_DATABASE_URL set, that database is used and no cluster is
# started. Ports: PAYMENTS_PORT (8080), SANDBOX_PORT (8090), PAYMENTS_PG_PORT
# (55432) for the private cluster.
set -euo pipefail

# A shell started in the background (`./dev.sh run &`) inherits SIGINT as
# ignored, and bash cannot trap a signal ignored at entry: re-run once with
# SIGINT and SIGTERM at their defaults so Ctrl-C and `kill -INT` always stop
# everything this script started.
if [ -z "${DEV_SH_SIGNALS_RESET:-}" ] && env --default-signal=INT true 2>/dev/null; then
  export DEV_SH_SIGNALS_RESET=1
  exec env --default-signal=INT,TERM "$0" "$@"
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA="$ROOT/.data"
BUILD="${PAYMENTS_BUILD_DIR:-$ROOT/build}"
PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT="${PAYMENTS_PG_PORT:-55432}"
ENGINE_PORT="${PAYMENTS_PORT:-8080}"
SANDBOX_PORT_DEFAULT="${SANDBOX_PORT:-8090}"
JOBS=$(nproc 2>/dev/null || echo 2)

# Debian 12 packages the build, the tests and the scripts need.
APT_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates curl openssl procps util-linux python3 python3-yaml
  libcaf-dev libboost-dev libpq-dev libssl-dev rapidjson-dev catch2
  postgresql-15 postgresql-client-15
  chromium fonts-dejavu-core prometheus
  clang libclang-rt-14-dev
)
# Installed only when the command is missing: a machine may have Node.js from
# elsewhere, whose own npm conflicts with Debian's package.
APT_IF_NO_COMMAND=(node:nodejs npm:npm)

say() { printf '\033[1m[dev.sh]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  for p in "${APT_IF_NO_COMMAND[@]}"; do
    command -v "${p%%:*}" >/dev/null 2>&1 || missing+=("${p#*:}")
  done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  say "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

ensure_npm_packages() {
  local dir="$ROOT/tests/js"
  [ -f "$dir/package-lock.json" ] || return 0
  # npm ci is skipped when node_modules already matches the lock file.
  if [ -f "$dir/node_modules/.package-lock.json" ] &&
    [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  say "installing npm packages for tests/js (pinned by package-lock.json)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

build() {
  say "building in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j "$JOBS"
}

# ---- PostgreSQL ----------------------------------------------------------------

PG_STARTED=0
PGDATA_DIR=""

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Runs a command as the cluster's owner: postgres when we are root
# (PostgreSQL refuses to run as root), ourselves otherwise.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Picks the cluster folder: .data/pg when its owner can reach it, else a
# unique folder under /tmp (a clone under /root is closed to postgres). The
# choice is remembered in .data/pgdir so later runs find the same cluster.
choose_pg_dir() {
  mkdir -p "$DATA"
  if [ -f "$DATA/pgdir" ] && [ -d "$(cat "$DATA/pgdir")" ]; then
    PGDATA_DIR=$(cat "$DATA/pgdir")
    return
  fi
  local candidate="$DATA/pg"
  mkdir -p "$candidate"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$candidate"
    if ! runuser -u postgres -- test -w "$candidate" 2>/dev/null; then
      candidate=$(mktemp -d /tmp/payments-pg.XXXXXX)
      chown postgres:postgres "$candidate"
      chmod 700 "$candidate"
      say "the postgres user cannot reach $DATA; the cluster lives in $candidate"
    fi
  fi
  chmod 700 "$candidate"
  echo "$candidate" >"$DATA/pgdir"
  PGDATA_DIR="$candidate"
}

start_postgres() {
  if [ -n "${PAYMENTS_DATABASE_URL:-}" ]; then
    say "using PAYMENTS_DATABASE_URL (no private cluster)"
    # Tests make scratch databases through this URL (its role needs CREATEDB).
    export PAYMENTS_TEST_DATABASE_URL="${PAYMENTS_TEST_DATABASE_URL:-$PAYMENTS_DATABASE_URL}"
    return
  fi
  choose_pg_dir
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    say "creating a private PostgreSQL 15 cluster in $PGDATA_DIR"
    as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$DATA/initdb.log" 2>&1 || { cat "$DATA/initdb.log" >&2; die "initdb failed"; }
  fi
  if as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
    # Already running (another dev.sh in this clone): share it, never stop it.
    PG_PORT=$(sed -n 4p "$PGDATA_DIR/postmaster.pid")
    say "PostgreSQL already running in $PGDATA_DIR on port $PG_PORT; sharing it"
  else
    # Another cluster (another clone, another user) may hold the port.
    while port_in_use "$PG_PORT"; do PG_PORT=$((PG_PORT + 1)); done
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t 60 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c shared_preload_libraries=pg_stat_statements" start \
      >/dev/null || { tail -20 "$PGDATA_DIR/server.log" >&2; die "PostgreSQL did not start"; }
    PG_STARTED=1
  fi
  local admin="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = 'payments'" | grep -q 1; then
    psql "$admin" -qc "CREATE DATABASE payments" >/dev/null
  fi
  export PAYMENTS_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/payments"
  export PAYMENTS_TEST_DATABASE_URL="$admin"
}

stop_postgres() {
  if [ "$PG_STARTED" -eq 1 ]; then
    say "stopping PostgreSQL"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
    PG_STARTED=0
  fi
}

# ---- secrets kept across runs --------------------------------------------------

# Reuses the keys of the last run (so a browser tab or script keeps working)
# and makes any that are missing.
load_or_make_secrets() {
  mkdir -p "$DATA"
  # Only the secrets are reused: URLs and ports are decided afresh each run
  # (an old PAYMENTS_DATABASE_URL must not stop the private cluster starting).
  if [ -f "$DATA/dev.env" ]; then
    local name value
    while IFS='=' read -r name value; do
      case "$name" in
        PAYMENTS_API_KEY | PAYMENTS_ADMIN_TOKEN | PAYMENTS_WEBHOOK_SECRET | SANDBOX_SECRET_KEY | \
          SANDBOX_PUBLISHABLE_KEY | SANDBOX_ADYEN_API_KEY | SANDBOX_ADYEN_CLIENT_KEY | \
          PAYMENTS_ADYEN_HMAC_KEY | SANDBOX_PAYPAL_CLIENT_ID | SANDBOX_PAYPAL_CLIENT_SECRET | \
          PAYMENTS_PAYPAL_WEBHOOK_ID)
          [ -n "${!name:-}" ] || printf -v "$name" '%s' "$value" ;;
      esac
    done <"$DATA/dev.env"
  fi
  token() { openssl rand -hex 24; }
  PAYMENTS_API_KEY="${PAYMENTS_API_KEY:-sk_test_$(token)}"
  PAYMENTS_ADMIN_TOKEN="${PAYMENTS_ADMIN_TOKEN:-adm_$(token)}"
  PAYMENTS_WEBHOOK_SECRET="${PAYMENTS_WEBHOOK_SECRET:-whsec_$(token)}"
  SANDBOX_SECRET_KEY="${SANDBOX_SECRET_KEY:-sk_test_sbx_$(token)}"
  SANDBOX_PUBLISHABLE_KEY="${SANDBOX_PUBLISHABLE_KEY:-pk_test_sbx_$(token)}"
  SANDBOX_ADYEN_API_KEY="${SANDBOX_ADYEN_API_KEY:-AQE_sbx_$(token)}"
  SANDBOX_ADYEN_CLIENT_KEY="${SANDBOX_ADYEN_CLIENT_KEY:-test_$(openssl rand -hex 16 | tr a-f A-F)}"
  PAYMENTS_ADYEN_HMAC_KEY="${PAYMENTS_ADYEN_HMAC_KEY:-$(openssl rand -hex 32 | tr a-f A-F)}"
  PAYMENTS_ADYEN_MERCHANT_ACCOUNT="${PAYMENTS_ADYEN_MERCHANT_ACCOUNT:-DevShopECOM}"
  SANDBOX_PAYPAL_CLIENT_ID="${SANDBOX_PAYPAL_CLIENT_ID:-Ab_sbx_$(token)}"
  SANDBOX_PAYPAL_CLIENT_SECRET="${SANDBOX_PAYPAL_CLIENT_SECRET:-Eb_sbx_$(token)}"
  PAYMENTS_PAYPAL_WEBHOOK_ID="${PAYMENTS_PAYPAL_WEBHOOK_ID:-WH$(openssl rand -hex 8 | tr a-f A-F)}"
}

write_dev_env() {
  umask 077
  cat >"$DATA/dev.env" <<EOF
PAYMENTS_URL=http://127.0.0.1:$ENGINE_PORT
PAYMENTS_API_KEY=$PAYMENTS_API_KEY
PAYMENTS_ADMIN_TOKEN=$PAYMENTS_ADMIN_TOKEN
PAYMENTS_WEBHOOK_SECRET=$PAYMENTS_WEBHOOK_SECRET
PAYMENTS_DATABASE_URL=$PAYMENTS_DATABASE_URL
SANDBOX_URL=http://127.0.0.1:$SANDBOX_PORT_DEFAULT
SANDBOX_SECRET_KEY=$SANDBOX_SECRET_KEY
SANDBOX_PUBLISHABLE_KEY=$SANDBOX_PUBLISHABLE_KEY
SANDBOX_ADYEN_URL=http://127.0.0.1:$SANDBOX_PORT_DEFAULT/adyen/checkout/v71
SANDBOX_ADYEN_API_KEY=$SANDBOX_ADYEN_API_KEY
SANDBOX_ADYEN_CLIENT_KEY=$SANDBOX_ADYEN_CLIENT_KEY
PAYMENTS_ADYEN_HMAC_KEY=$PAYMENTS_ADYEN_HMAC_KEY
PAYMENTS_ADYEN_MERCHANT_ACCOUNT=$PAYMENTS_ADYEN_MERCHANT_ACCOUNT
SANDBOX_PAYPAL_URL=http://127.0.0.1:$SANDBOX_PORT_DEFAULT/paypal
SANDBOX_PAYPAL_CLIENT_ID=$SANDBOX_PAYPAL_CLIENT_ID
SANDBOX_PAYPAL_CLIENT_SECRET=$SANDBOX_PAYPAL_CLIENT_SECRET
PAYMENTS_PAYPAL_WEBHOOK_ID=$PAYMENTS_PAYPAL_WEBHOOK_ID
EOF
}

# ---- processes -----------------------------------------------------------------

PIDS=()

stop_all() {
  trap - INT TERM EXIT
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
  stop_postgres
}

wait_for_http() {  # url seconds
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

cmd_run() {
  ensure_packages
  build
  load_or_make_secrets
  trap stop_all EXIT
  trap 'say "stopping"; exit 0' INT TERM
  start_postgres
  write_dev_env
  mkdir -p "$DATA/logs"

  PAYMENTS_DATABASE_URL="$PAYMENTS_DATABASE_URL" PAYMENTS_API_KEY="$PAYMENTS_API_KEY" \
    "$BUILD/apps/paymentsctl" migrate >/dev/null
  PAYMENTS_DATABASE_URL="$PAYMENTS_DATABASE_URL" PAYMENTS_API_KEY="$PAYMENTS_API_KEY" \
    "$BUILD/apps/paymentsctl" merchant ensure --name demo >/dev/null

  if [ -x "$BUILD/apps/psp-sandbox" ]; then
    SANDBOX_SECRET_KEY="$SANDBOX_SECRET_KEY" SANDBOX_PUBLISHABLE_KEY="$SANDBOX_PUBLISHABLE_KEY" \
      SANDBOX_WEBHOOK_SECRET="$PAYMENTS_WEBHOOK_SECRET" \
      SANDBOX_WEBHOOK_URL="http://127.0.0.1:$ENGINE_PORT/v1/webhooks/stripe" \
      SANDBOX_ADYEN_API_KEY="$SANDBOX_ADYEN_API_KEY" SANDBOX_ADYEN_CLIENT_KEY="$SANDBOX_ADYEN_CLIENT_KEY" \
      SANDBOX_ADYEN_HMAC_KEY="$PAYMENTS_ADYEN_HMAC_KEY" \
      SANDBOX_ADYEN_MERCHANT_ACCOUNT="$PAYMENTS_ADYEN_MERCHANT_ACCOUNT" \
      SANDBOX_ADYEN_WEBHOOK_URL="http://127.0.0.1:$ENGINE_PORT/v1/webhooks/adyen" \
      SANDBOX_PAYPAL_CLIENT_ID="$SANDBOX_PAYPAL_CLIENT_ID" \
      SANDBOX_PAYPAL_CLIENT_SECRET="$SANDBOX_PAYPAL_CLIENT_SECRET" \
      SANDBOX_PAYPAL_WEBHOOK_ID="$PAYMENTS_PAYPAL_WEBHOOK_ID" \
      SANDBOX_PAYPAL_WEBHOOK_URL="http://127.0.0.1:$ENGINE_PORT/v1/webhooks/paypal" \
      "$BUILD/apps/psp-sandbox" --port "$SANDBOX_PORT_DEFAULT" \
      2>>"$DATA/logs/psp-sandbox.log" >>"$DATA/logs/psp-sandbox.out" &
    PIDS+=($!)
  fi
  PAYMENTS_DATABASE_URL="$PAYMENTS_DATABASE_URL" PAYMENTS_PORT="$ENGINE_PORT" \
    PAYMENTS_ADMIN_TOKEN="$PAYMENTS_ADMIN_TOKEN" PAYMENTS_WEBHOOK_SECRET="$PAYMENTS_WEBHOOK_SECRET" \
    PAYMENTS_PSP=stripe PAYMENTS_PSP_ALIASES=sandbox \
    PAYMENTS_PSP_BASE_URL="http://127.0.0.1:$SANDBOX_PORT_DEFAULT" \
    PAYMENTS_PSP_SECRET_KEY="$SANDBOX_SECRET_KEY" \
    PAYMENTS_PSP_PUBLISHABLE_KEY="$SANDBOX_PUBLISHABLE_KEY" \
    PAYMENTS_ADYEN_BASE_URL="http://127.0.0.1:$SANDBOX_PORT_DEFAULT/adyen/checkout/v71" \
    PAYMENTS_ADYEN_API_KEY="$SANDBOX_ADYEN_API_KEY" \
    PAYMENTS_ADYEN_CLIENT_KEY="$SANDBOX_ADYEN_CLIENT_KEY" \
    PAYMENTS_ADYEN_HMAC_KEY="$PAYMENTS_ADYEN_HMAC_KEY" \
    PAYMENTS_ADYEN_MERCHANT_ACCOUNT="$PAYMENTS_ADYEN_MERCHANT_ACCOUNT" \
    PAYMENTS_ADYEN_SDK_URL="http://127.0.0.1:$SANDBOX_PORT_DEFAULT/adyen/sdk/adyen.js" \
    PAYMENTS_PAYPAL_BASE_URL="http://127.0.0.1:$SANDBOX_PORT_DEFAULT/paypal" \
    PAYMENTS_PAYPAL_CLIENT_ID="$SANDBOX_PAYPAL_CLIENT_ID" \
    PAYMENTS_PAYPAL_CLIENT_SECRET="$SANDBOX_PAYPAL_CLIENT_SECRET" \
    PAYMENTS_PAYPAL_WEBHOOK_ID="$PAYMENTS_PAYPAL_WEBHOOK_ID" \
    PAYMENTS_PAYPAL_SANDBOX_CERT_URL="http://127.0.0.1:$SANDBOX_PORT_DEFAULT" \
    "$BUILD/apps/paymentsd" 2>>"$DATA/logs/paymentsd.log" &
  PIDS+=($!)

  wait_for_http "http://127.0.0.1:$ENGINE_PORT/readyz" 60 ||
    { tail -20 "$DATA/logs/paymentsd.log" >&2; die "paymentsd did not become ready"; }
  if [ -x "$BUILD/apps/psp-sandbox" ]; then
    wait_for_http "http://127.0.0.1:$SANDBOX_PORT_DEFAULT/healthz" 30 ||
      { tail -20 "$DATA/logs/psp-sandbox.log" >&2; die "psp-sandbox did not start"; }
  fi

  # One payment link per PSP, for a person to open and pay in a browser.
  make_link() {  # psp
    curl -fsS -H "Authorization: Bearer $PAYMENTS_API_KEY" -H 'Content-Type: application/json' \
      -d '{"amount":1999,"currency":"eur","description":"Demo order (dev.sh)","psp":"'"$1"'"}' \
      "http://127.0.0.1:$ENGINE_PORT/v1/payment_links" |
      sed -n 's/.*"url":"\([^"]*\)".*/\1/p' || echo "(could not create one; see the logs)"
  }
  local payment_link adyen_link paypal_link
  payment_link=$(make_link stripe)
  adyen_link=$(make_link adyen)
  paypal_link=$(make_link paypal)

  cat <<EOF

  Payments engine is up.
    engine API     http://127.0.0.1:$ENGINE_PORT   (GET /readyz, /v1/payment_intents)
    sandbox PSP    http://127.0.0.1:$SANDBOX_PORT_DEFAULT
    demo API key   $PAYMENTS_API_KEY
    database       $PAYMENTS_DATABASE_URL
    settings       $DATA/dev.env   (source it: set -a; . .data/dev.env; set +a)
    logs           $DATA/logs/

  Try:  curl -s -H "Authorization: Bearer $PAYMENTS_API_KEY" http://127.0.0.1:$ENGINE_PORT/v1/payment_intents

  Pay in a browser, through Stripe's wire format:  $payment_link
    (card 4242 4242 4242 4242, any future expiry, any CVC; 4000 0000 0000 0002
    is declined, 4000 0025 0000 3155 asks for 3-D Secure)
  ... through Adyen's:  $adyen_link
    (card 4111 1111 4555 1142, expiry 03/2030, CVC 737; holder name DECLINED
    is refused, 5454 5454 5454 5454 asks for 3-D Secure, password "password")
  ... through PayPal's:  $paypal_link
    (the sandbox's approval page: Approve pays, Cancel returns unpaid; funding
    "deny_capture" makes the capture be declined)

  Stop with Ctrl-C or SIGTERM.
EOF
  # Stay in the foreground; if a program dies, stop the rest and fail.
  while true; do
    local pid
    for pid in "${PIDS[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        say "a program exited unexpectedly (pid $pid); see $DATA/logs/"
        exit 1
      fi
    done
    sleep 1 &
    wait $! || true
  done
}

# The fuzz targets' own build: clang with -fsanitize=fuzzer, ASan and UBSan.
FUZZ_BUILD="${PAYMENTS_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
build_fuzz() {  # seconds-per-target-in-ctest
  say "building the fuzz targets in $FUZZ_BUILD"
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPAYMENTS_FUZZ=ON -DPAYMENTS_FUZZ_SECONDS="${1:-5}" >/dev/null
  cmake --build "$FUZZ_BUILD" -j "$JOBS" --target fuzz_targets
}

# Debian's libcaf_core is not instrumented, so ThreadSanitizer cannot see
# the atomics that hand a message from one actor to another and reports
# every message's contents as a race. For the ThreadSanitizer run only, the
# same CAF 0.17.6 (the upstream tarball Debian's package is built from,
# pinned by the checksum in Debian's .dsc) is built with -fsanitize=thread
# in the same configuration (its build_config.hpp must equal Debian's), and
# the tests load it in place of Debian's (LD_LIBRARY_PATH; same soname).
CAF_ORIG_URL="http://deb.debian.org/debian/pool/main/a/actor-framework/actor-framework_0.17.6.orig.tar.gz"
CAF_ORIG_SHA256="e2bf5bd243f08bb7d8adde197cfe3e6d71314ed3378fe0692f8932f4c3b3928c"
build_tsan_caf() {  # build-dir -> prints the folder holding libcaf_core.so.0.17.6
  local dir="$1/caf-tsan" src
  src="$dir/actor-framework-0.17.6"
  if [ ! -f "$dir/lib/libcaf_core.so.0.17.6" ]; then
    mkdir -p "$dir"
    if [ ! -f "$dir/orig.tar.gz" ]; then
      say "downloading CAF 0.17.6's source (Debian's orig tarball) for an instrumented libcaf_core"
      curl -fsS -m 300 -o "$dir/orig.tar.gz.part" "$CAF_ORIG_URL" || die "cannot download $CAF_ORIG_URL"
      mv "$dir/orig.tar.gz.part" "$dir/orig.tar.gz"
    fi
    echo "$CAF_ORIG_SHA256  $dir/orig.tar.gz" | sha256sum -c --quiet - ||
      die "CAF's source does not match Debian's checksum; remove $dir/orig.tar.gz and retry"
    rm -rf "$src" && tar xzf "$dir/orig.tar.gz" -C "$dir"
    say "building libcaf_core with ThreadSanitizer in $dir"
    CXXFLAGS="-fsanitize=thread -g -O1" cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCAF_NO_EXAMPLES=yes -DCAF_NO_UNIT_TESTS=yes -DCAF_NO_OPENSSL=yes -DCAF_NO_OPENCL=yes \
      -DCAF_NO_PYTHON=yes -DCAF_NO_TOOLS=yes -DCAF_NO_IO=yes -DCAF_NO_SUMMARY=yes >/dev/null
    # The headers the engine was compiled with are Debian's: the library
    # must be built in the same configuration.
    diff -q <(grep -v '^ \*\|^/\*\|^//' "$src/build/libcaf_core/caf/detail/build_config.hpp") \
      <(grep -v '^ \*\|^/\*\|^//' /usr/include/caf/detail/build_config.hpp) >/dev/null ||
      die "CAF's build_config.hpp differs from Debian's; the instrumented library would not match"
    cmake --build "$src/build" -j "$JOBS" --target libcaf_core_shared >/dev/null
    mkdir -p "$dir/lib"
    cp -L "$src/build/lib/libcaf_core.so.0.17.6" "$dir/lib/"
  fi
  echo "$dir/lib"
}

cmd_test() {
  ensure_packages
  ensure_npm_packages
  local sanitize="${2:-}" only="" reports=""
  case "$sanitize" in
    "") ;;
    --sanitize | --sanitize=address)
      # Everything with AddressSanitizer and UndefinedBehaviorSanitizer, in a
      # build folder of its own so the normal one stays as it is.
      BUILD="${PAYMENTS_SANITIZE_BUILD_DIR:-$ROOT/build-sanitize}"
      say "building with ASan+UBSan in $BUILD"
      cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPAYMENTS_SANITIZE=ON >/dev/null
      cmake --build "$BUILD" -j "$JOBS"
      # Every process (the tests and the engines and sandboxes they start)
      # writes its reports to files here, so a report in a child is not lost
      # in its log: any file left is a failure.
      reports="$BUILD/sanitizer-reports"
      export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:log_path=$reports/asan}"
      export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan}"
      ;;
    --sanitize=thread)
      # ThreadSanitizer: the engine's actors, storage threads and HTTP server
      # under the integration tests' load.
      BUILD="${PAYMENTS_TSAN_BUILD_DIR:-$ROOT/build-tsan}"
      say "building with ThreadSanitizer in $BUILD"
      cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPAYMENTS_TSAN=ON >/dev/null
      # Only what the integration tests run (their three executables pull
      # in the engine, paymentsctl and the sandbox PSP).
      cmake --build "$BUILD" -j "$JOBS" --target integration_tests hardening_tests routing_tests
      reports="$BUILD/sanitizer-reports"
      export TSAN_OPTIONS="${TSAN_OPTIONS:-second_deadlock_stack=1:log_path=$reports/tsan}"
      local caf_lib
      caf_lib=$(build_tsan_caf "$BUILD") || die "no instrumented libcaf_core for the ThreadSanitizer run"
      export LD_LIBRARY_PATH="$caf_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      only='^integration:'
      ;;
    *) die "unknown option $sanitize (--sanitize, --sanitize=address or --sanitize=thread)" ;;
  esac
  if [ -z "$sanitize" ]; then
    build
    # A short fuzz run of every target (seed corpus plus a few seconds).
    build_fuzz 5
  fi
  if [ -n "$reports" ]; then rm -rf "$reports"; mkdir -p "$reports"; fi
  trap stop_all EXIT
  start_postgres
  say "running the tests"
  local status=0
  PAYMENTS_TEST_DATABASE_URL="$PAYMENTS_TEST_DATABASE_URL" \
    ctest --test-dir "$BUILD" --output-on-failure --no-tests=error -j "$JOBS" ${only:+-R "$only"} || status=$?
  if [ -z "$sanitize" ]; then
    ctest --test-dir "$FUZZ_BUILD" -R '^fuzz: ' --output-on-failure --no-tests=error || status=$?
  elif [ -n "$(ls -A "$reports")" ]; then
    say "sanitizer reports in $reports:"
    head -n 60 "$reports"/* >&2
    status=1
  fi
  return "$status"
}

cmd_fuzz() {
  local seconds="" runs="" only=""
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
      --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
      -*) die "unknown option $1" ;;
      *) only="$1"; shift ;;
    esac
  done
  # Without --runs, a time limit (60 s unless given); with it, the runs only.
  local limits=()
  if [ -n "$runs" ]; then limits+=(-runs="$runs"); elif [ -z "$seconds" ]; then seconds=60; fi
  if [ -n "$seconds" ]; then limits+=(-max_total_time="$seconds"); fi
  ensure_packages
  build_fuzz 5
  local dir="$FUZZ_BUILD/tests/fuzz" status=0 t
  for t in fuzz_http_request fuzz_json_requests fuzz_form fuzz_query_cookie \
           fuzz_stripe_webhook fuzz_adyen_webhook fuzz_paypal_webhook fuzz_money; do
    [ -z "$only" ] || [ "$only" = "$t" ] || continue
    mkdir -p "$dir/work/$t"
    say "fuzzing $t (${limits[*]})"
    "$dir/$t" "${limits[@]}" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "$dir/work/$t" "$ROOT/tests/fuzz/corpus/$t" || status=$?
  done
  return "$status"
}

cmd_bench() {
  ensure_packages
  build
  trap stop_all EXIT
  start_postgres
  say "running the benchmarks"
  PAYMENTS_BUILD_DIR="$BUILD" PAYMENTS_TEST_DATABASE_URL="$PAYMENTS_TEST_DATABASE_URL" \
    "$ROOT/bench/run.sh" "${@:2}"
}

# The crash storm starts and restarts its own PostgreSQL cluster (pg_ctl -m
# immediate), so it never shares the one start_postgres would give.
cmd_storm() {
  ensure_packages
  build
  say "running the crash storm"
  node "$ROOT/tests/storm/storm.js" --build "$BUILD" "${@:2}"
}

case "${1:-}" in
  run) cmd_run ;;
  test) cmd_test "$@" ;;
  fuzz) cmd_fuzz "$@" ;;
  bench) cmd_bench "$@" ;;
  storm) cmd_storm "$@" ;;
  build) ensure_packages; ensure_npm_packages; build ;;
  *)
    sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
