#!/usr/bin/env bash
# shellcheck shell=bash
# Helpers shared by scripts/run and scripts/test. Source this file; do not run it.
#
#   ensure_packages       install the Debian packages Tributary needs, only those missing
#   pg_start DIR [fast]   start (or reuse) a private PostgreSQL cluster kept in DIR;
#                         sets PG_URL, PG_BIN, PG_ROOT and exports PGPORT
#   pg_stop DIR [MODE]    stop the cluster kept in DIR (found by its data directory); MODE is
#                         pg_ctl's shutdown mode: fast (the default) or immediate (a crash)
#   pg_create_db NAME     create database NAME in the cluster of PG_URL if it is missing
#
# Why a private cluster rather than the system one: it needs no service manager, no
# password and no edits to /etc, it never clashes with another PostgreSQL on 5432, and
# throw-away clusters for tests are cheap. It listens on 127.0.0.1 only (plus a unix
# socket inside its own directory) and trusts every local connection, so it is for
# development and tests, never for production.
#
# Errors end the calling script (these helpers are meant for scripts, not for an
# interactive shell), and they assume the strict mode their callers use anyway:
set -euo pipefail

_pg_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

_pg_note() {
  printf '%s\n' "$*" >&2
}

# Runs "$@" with root rights: directly as root, through sudo otherwise.
_pg_as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    _pg_die "need root rights to run '$*' and sudo is not installed; run this script as root or install the packages yourself"
  fi
}

# Runs "$@" as the user that owns the clusters. initdb, pg_ctl and postgres refuse to run
# as root, so as root they run as the `postgres` user the Debian package creates. The
# subshell cds to / first because the caller's directory (say /root) may be closed to
# postgres, and these tools complain when they cannot read their working directory.
_pg_as_owner() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

_pg_pkg_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# Prints the newest PostgreSQL server bin directory. The server binaries are not on PATH
# in Debian (only the client wrappers are), so they are looked up where the packages put them.
_pg_newest_bin() {
  local bin
  # shellcheck disable=SC2012  # these directory names are plain version numbers
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  [[ -n "$bin" && -x "$bin/initdb" && -x "$bin/pg_ctl" && -x "$bin/postgres" ]] || return 1
  printf '%s\n' "$bin"
}

ensure_packages() {
  local missing=()
  _pg_newest_bin >/dev/null || missing+=(postgresql)
  # libcurl: the CCurl target (alert email over SMTP), and FoundationNetworking links against it.
  _pg_pkg_installed libcurl4-openssl-dev || missing+=(libcurl4-openssl-dev)
  # A local SMTP sink for development and tests (python3 -m aiosmtpd -n -l 127.0.0.1:1025).
  _pg_pkg_installed python3-aiosmtpd || missing+=(python3-aiosmtpd)
  # pgrep/pkill: ./scripts/test stops a run past its deadline by its session.
  command -v pkill >/dev/null 2>&1 || missing+=(procps)
  # curl and jq: scripts/lib/server.sh and the conformance phase talk to a live server with them.
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v jq >/dev/null 2>&1 || missing+=(jq)
  # python3 picks free TCP ports below; it is on every machine of this kind, but be sure.
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  ((${#missing[@]} == 0)) && return 0

  _pg_note "==> installing missing Debian packages: ${missing[*]}"
  if [[ " ${missing[*]} " == *" postgresql "* ]] && ! _pg_pkg_installed postgresql-common; then
    # Installing the package would also create and start Debian's own "main" cluster on
    # port 5432, which nothing here uses. This drop-in (read by postgresql-common's
    # createcluster.conf) stops that from happening; pg_createcluster still works by hand.
    _pg_as_root mkdir -p /etc/postgresql-common/createcluster.d
    printf '%s\n' '# Written by Tributary scripts/lib/postgres.sh: Tributary runs its own private clusters.' \
      'create_main_cluster = false' |
      _pg_as_root tee /etc/postgresql-common/createcluster.d/tributary.conf >/dev/null
  fi
  # One `apt-get update`, and only when something has to be installed: it is slow and
  # the package lists of a fresh machine may be empty.
  _pg_as_root apt-get update -q
  _pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  _pg_newest_bin >/dev/null || _pg_die "PostgreSQL server binaries still missing under /usr/lib/postgresql/*/bin after installing"
}

# Prints the sha1 of a string (used to name a cluster's fallback location).
_pg_sha1() {
  printf '%s' "$1" | sha1sum | cut -c1-40
}

# Makes directory $1 (if missing) owned by the cluster's user with mode $2.
_pg_owned_dir() {
  mkdir -p "$1"
  if ((EUID == 0)); then chown postgres:postgres "$1"; fi
  chmod "$2" "$1"
}

# Sets PG_ROOT for absolute directory $1: where the cluster's pgdata/, sock/ and
# postgres.log live. Normally that is DIR itself. It is somewhere else when
#   - we are root and the postgres user cannot reach DIR (e.g. DIR is under /root, which
#     is mode 0700): postgres must be able to enter its own data directory;
#   - DIR's path is too long for a unix socket path (about 107 bytes on Linux).
# Then the data goes to a fixed place named after the sha1 of DIR, and DIR/pgdata is
# made a symlink to it so that people (and pg_stop) can find it.
# With $2 = "create" the directories are made and handed to postgres; otherwise
# nothing is changed (pg_stop).
_pg_locate() {
  local dir="$1" create="${2:-}" base target
  if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
    _pg_die "there is no 'postgres' user to run PostgreSQL as (install the postgresql package: ensure_packages)"
  fi
  if [[ -L "$dir/pgdata" ]]; then
    target="$(readlink "$dir/pgdata")"
    PG_ROOT="${target%/pgdata}"
  else
    PG_ROOT="$dir"
    if [[ "$create" == create && ! -d "$dir/pgdata" ]]; then
      local reachable=1
      if ((EUID == 0)); then
        # mktemp -d makes 0700 directories: giving DIR to postgres lets it in.
        chown postgres:postgres "$dir"
        runuser -u postgres -- test -x "$dir" -a -w "$dir" 2>/dev/null || reachable=0
      fi
      # 24 = length of "/sock/.s.PGSQL.65535" plus a little room
      if ((reachable == 0 || ${#dir} + 24 > 107)); then
        if ((EUID == 0)); then
          base=/var/tmp/tributary-pg
        else
          base="${TMPDIR:-/tmp}/tributary-pg-$(id -u)"
        fi
        mkdir -p "$base"
        chmod 755 "$base"
        PG_ROOT="$base/$(_pg_sha1 "$dir")"
        _pg_owned_dir "$PG_ROOT" 700
        ln -sfn "$PG_ROOT/pgdata" "$dir/pgdata"
        local why="the postgres user cannot reach $dir"
        ((reachable == 1)) && why="$dir is too long a path for a unix socket"
        _pg_note "note: $why, so the cluster's data lives in $PG_ROOT ($dir/pgdata links there)"
      fi
    fi
  fi
  if [[ "$create" == create ]]; then
    if ((EUID == 0)); then chown postgres:postgres "$PG_ROOT"; fi
    _pg_owned_dir "$PG_ROOT/sock" 755
  fi
}

# Sets PG_BIN to the bin directory of the PostgreSQL version that made data dir $1
# (a cluster can only be run by its own major version), or the newest if $1 is new.
_pg_bin_for() {
  local pgdata="$1" ver
  if [[ -s "$pgdata/PG_VERSION" ]]; then
    ver="$(<"$pgdata/PG_VERSION")"
    PG_BIN="/usr/lib/postgresql/$ver/bin"
    [[ -x "$PG_BIN/pg_ctl" ]] ||
      _pg_die "the cluster in $pgdata was made by PostgreSQL $ver, which is not installed; install postgresql-$ver or delete $pgdata to start afresh"
  else
    PG_BIN="$(_pg_newest_bin)" || _pg_die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (run ensure_packages)"
  fi
}

_pg_port_free() {
  # SO_REUSEADDR as PostgreSQL binds: the connections a stopped server closed linger in
  # TIME_WAIT on its port for a minute, which does not keep it from listening there again.
  python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# Prints a TCP port that is free on 127.0.0.1 right now (the kernel picks it).
_pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
  local dir="${1:?usage: pg_start DIR [fast]}" mode="${2:-}"
  [[ -z "$mode" || "$mode" == fast ]] || _pg_die "pg_start: unknown option '$mode' (only 'fast')"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd -P)"
  _pg_locate "$dir" create
  local pgdata="$PG_ROOT/pgdata" sock="$PG_ROOT/sock" log="$PG_ROOT/postgres.log" port=""
  _pg_bin_for "$pgdata"

  if [[ ! -s "$pgdata/PG_VERSION" ]]; then
    # First start: make the cluster. trust auth is fine because it only listens on
    # 127.0.0.1 and a socket in a private directory; C locale keeps sorting predictable.
    if ! _pg_as_owner "$PG_BIN/initdb" -D "$pgdata" --auth=trust -U postgres \
      --encoding=UTF8 --locale=C >"$PG_ROOT/initdb.log" 2>&1; then
      cat "$PG_ROOT/initdb.log" >&2
      _pg_die "initdb failed for $pgdata"
    fi
  fi

  if _pg_as_owner "$PG_BIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    # Already running (an earlier ./scripts/run): reuse it. Line 4 of postmaster.pid is
    # the port it really listens on, which beats DIR/port if the two disagree.
    port="$(sed -n 4p "$pgdata/postmaster.pid")"
  else
    local opts="-c listen_addresses=127.0.0.1 -k '$sock' -c max_connections=200"
    if [[ "$mode" == fast ]]; then
      # Throw-away test clusters: durability buys nothing, speed does. The test suite runs
      # some 240 tests at once, each with an app, a pool and its run-task children.
      opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=1000"
    fi
    local attempt started=0
    for attempt in 1 2 3; do
      # Keep the port of the last run when it is still free (a stable DATABASE_URL for
      # people), else let the kernel pick one. Another process may grab the port between
      # the check and postgres binding it, hence the retries.
      port=""
      if [[ $attempt == 1 && -s "$dir/port" ]] && _pg_port_free "$(<"$dir/port")"; then
        port="$(<"$dir/port")"
      fi
      [[ -n "$port" ]] || port="$(_pg_free_port)"
      if _pg_as_owner "$PG_BIN/pg_ctl" -D "$pgdata" -l "$log" -w -t 60 -s \
        -o "$opts -p $port" start >/dev/null; then
        started=1
        break
      fi
    done
    if ((started == 0)); then
      tail -n 30 "$log" >&2 || true
      _pg_die "PostgreSQL did not start (data: $pgdata, log: $log)"
    fi
  fi
  [[ "$port" =~ ^[0-9]+$ ]] || _pg_die "could not tell the port of the cluster in $pgdata"
  printf '%s\n' "$port" >"$dir/port"
  export PGPORT="$port"
  PG_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

pg_stop() {
  local dir="${1:?usage: pg_stop DIR [fast|immediate]}" mode="${2:-fast}"
  [[ "$mode" == fast || "$mode" == immediate ]] || _pg_die "pg_stop: unknown mode '$mode' (fast or immediate)"
  [[ -d "$dir" ]] || return 0
  dir="$(cd "$dir" && pwd -P)"
  _pg_locate "$dir"
  local pgdata="$PG_ROOT/pgdata"
  [[ -s "$pgdata/PG_VERSION" ]] || return 0
  _pg_bin_for "$pgdata"
  # By data directory, so only this cluster is touched, never other postgres processes.
  if _pg_as_owner "$PG_BIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    _pg_as_owner "$PG_BIN/pg_ctl" -D "$pgdata" -m "$mode" -w -t 60 -s stop
  fi
}

pg_create_db() {
  local name="${1:?usage: pg_create_db NAME}"
  # A plain identifier keeps the SQL below free of quoting problems.
  [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || _pg_die "pg_create_db: '$name' is not a plain database name"
  [[ -n "${PG_URL:-}" ]] || _pg_die "pg_create_db: no PG_URL (call pg_start first)"
  local psql="psql"
  [[ -n "${PG_BIN:-}" && -x "$PG_BIN/psql" ]] && psql="$PG_BIN/psql"
  local found
  found="$("$psql" "$PG_URL" -X -q -t -A -v ON_ERROR_STOP=1 \
    -c "select 1 from pg_database where datname = '$name'")"
  if [[ "$found" != 1 ]]; then
    "$psql" "$PG_URL" -X -q -v ON_ERROR_STOP=1 -c "create database \"$name\"" >/dev/null
  fi
}
