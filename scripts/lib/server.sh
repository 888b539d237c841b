#!/usr/bin/env bash
# shellcheck shell=bash
# Helpers of the scripts that drive a live Tributary (bench/*, scripts/lib/conformance). Source
# this file after setting the server's environment (DATABASE_URL, TRIBUTARY_ADMIN_TOKEN, PORT, …).
#
#   server_start BIN LOG               `BIN/tributary migrate`, then `serve --worker` in the background,
#                                      its output in LOG, until it answers /readyz; sets SERVER_PID, API
#   api_call METHOD PATH [BODY]        one admin call to the API: its JSON answer on stdout; any
#                                      status but 2xx prints the answer on stderr and fails
#   api_wait_run TENANT INTEGRATION    waits for the integration's newest run to end; prints its status
set -euo pipefail

server_start() {
  local bin="${1:?usage: server_start BIN LOG}" log="${2:?usage: server_start BIN LOG}"
  "$bin/tributary" migrate >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  "$bin/tributary" serve --worker >"$log" 2>&1 &
  SERVER_PID=$!
  API="http://127.0.0.1:$PORT"
  for _ in $(seq 1 300); do
    curl -fsS "$API/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.2
  done
  echo "error: tributary serve did not start" >&2
  exit 1
}

api_call() {
  local answer
  if ! answer="$(curl -sS --fail-with-body -X "$1" "$API$2" -H "Authorization: Bearer $TRIBUTARY_ADMIN_TOKEN" \
    -H "Content-Type: application/json" ${3:+--data "$3"})"; then
    echo "error: $1 $2 answered $answer" >&2
    return 1
  fi
  printf '%s\n' "$answer"
}

api_wait_run() {
  local status=""
  while true; do
    status="$(api_call GET "/v1/tenants/$1/integrations/$2/syncs" | jq -r '.data[0].status // ""')"
    case "$status" in succeeded | failed | cancelled) break ;; esac
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "error: tributary serve exited" >&2; exit 1; }
    sleep 0.5
  done
  echo "$status"
}
