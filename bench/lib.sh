#!/usr/bin/env bash
# shellcheck shell=bash
# Helpers of the benches that run Tributary against a local fake provider (bench/provider-limit,
# bench/rest-vs-dlt). Source this file after scripts/lib/postgres.sh.
#
#   bench_build                      build tributary and bench-fakes (BUILD=release, the default, or debug); sets BIN
#   bench_build_claim_run LOG        build claim-run and tributary in release, with -enable-testing (claim-run
#                                    calls the Store's internals), in .build-bench/; sets CLAIM_BIN
#   bench_start_fake MODE            start `bench-fakes MODE` (env passes through); sets FAKE_PORT
#   bench_fake_stats                 what the fake saw: `requests N throttled N <path>=N …`
#   bench_start_server               a throw-away database and `tributary serve --worker`; sets API, DB
#                                    (then api_call and api_wait_run of scripts/lib/server.sh talk to it)
set -euo pipefail
# shellcheck source=scripts/lib/server.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/server.sh"

calc() { awk "BEGIN { printf \"%.6f\", $* }"; }

bench_build() {
  local mode="${BUILD:-release}"
  echo "==> TRIBUTARY_BENCH=1 swift build -c $mode --product tributary --product bench-fakes"
  for product in tributary bench-fakes; do
    TRIBUTARY_BENCH=1 swift build -c "$mode" --product "$product" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
  done
  BIN="$(TRIBUTARY_BENCH=1 swift build -c "$mode" --show-bin-path 2>/dev/null)"
}

# Its own scratch path: -enable-testing rebuilds every module, and would undo .build/'s release build.
bench_build_claim_run() {
  local args=(-c release -Xswiftc -enable-testing --scratch-path "$ROOT/.build-bench")
  echo "==> TRIBUTARY_BENCH=1 swift build ${args[*]} --product claim-run (first time: about 12 minutes)"
  for product in claim-run tributary; do
    TRIBUTARY_BENCH=1 swift build "${args[@]}" --product "$product" >"$1" 2>&1 || { cat "$1" >&2; exit 1; }
  done
  CLAIM_BIN="$(TRIBUTARY_BENCH=1 swift build "${args[@]}" --show-bin-path 2>/dev/null)"
}

bench_start_fake() {
  "$BIN/bench-fakes" "$1" >"$WORK/fake.out" 2>"$WORK/fake.err" &
  FAKE_PID=$!
  for _ in $(seq 1 600); do
    FAKE_PORT="$(awk '/^port / { print $2 }' "$WORK/fake.out" 2>/dev/null || true)"
    [[ -n "$FAKE_PORT" ]] && return 0
    kill -0 "$FAKE_PID" 2>/dev/null || { cat "$WORK/fake.err" >&2; exit 1; }
    sleep 0.2
  done
  echo "error: the fake did not start" >&2
  exit 1
}

# What the fake saw: `requests N throttled N <path>=N …`.
bench_fake_stats() {
  curl -fsS "http://127.0.0.1:$FAKE_PORT/_bench/stats"
}

bench_start_server() {
  pg_start "$WORK" >/dev/null
  pg_create_db bench >/dev/null
  DB="postgres://postgres@127.0.0.1:$PGPORT/bench?sslmode=disable"
  export DATABASE_URL="$DB"
  export TRIBUTARY_ENCRYPTION_KEYS="bench:$(head -c 32 /dev/urandom | base64)"
  export TRIBUTARY_ADMIN_TOKEN="bench-admin-token-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export TRIBUTARY_EGRESS_ALLOW="127.0.0.1/32"
  export LOG_LEVEL="${LOG_LEVEL:-warning}"
  export PORT="$((20000 + RANDOM % 20000))"
  export HOST=127.0.0.1
  server_start "$BIN" "$WORK/server.log"
}

bench_cleanup() {
  local rc=$?
  for pid in "${SERVER_PID:-}" "${FAKE_PID:-}"; do
    [[ -n "$pid" ]] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  (pg_stop "$WORK") >/dev/null 2>&1 || true
  [[ -n "${PG_ROOT:-}" && "$PG_ROOT" != "$WORK" ]] && rm -rf "$PG_ROOT"
  rm -rf "$WORK"
  exit "$rc"
}
