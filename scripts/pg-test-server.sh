#!/usr/bin/env bash
# A throwaway PostgreSQL server for the storage tests (tests/db), on 127.0.0.1 and a free port.
#
#   scripts/pg-test-server.sh start [DIR]   install postgresql if missing (Debian, as root), create a cluster in
#                                           DIR, start it, create the database; prints its URL (and only that) on
#                                           stdout. Starting again while it runs prints the same URL.
#   scripts/pg-test-server.sh url [DIR]     print the URL of the running server
#   scripts/pg-test-server.sh stop [DIR]    stop the server and delete DIR
#
# DIR defaults to $CALLCENTER_PG_DIR, else a directory under ${TMPDIR:-/tmp} named after this checkout, so two
# checkouts never share a server. As root, the cluster belongs to the `postgres` user (postgres refuses to run as
# root); otherwise to the caller. Authentication is `trust`: the server listens on 127.0.0.1 and a socket in DIR
# only, and holds nothing but test data. Durability is off (fsync, full_page_writes): a crash loses the cluster,
# which is thrown away anyway.
#
#   url=$(scripts/pg-test-server.sh start) && CALLCENTER_TEST_PG_URL=$url .venv/bin/pytest tests/db
set -euo pipefail

DB_NAME=callcenter_test
ROOT=$(cd "$(dirname "$0")/.." && pwd)

log() { echo "pg-test-server: $*" >&2; }

default_dir() {
    local tag
    tag=$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
    echo "${TMPDIR:-/tmp}/callcenter-pg-$tag"
}

pg_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n "$bin" && -x "$bin/initdb" ]] && echo "$bin"
}

install_postgres() {
    if [[ $(id -u) -ne 0 ]]; then
        log "PostgreSQL is not installed and installing it needs root: apt-get install postgresql"
        exit 1
    fi
    log "installing postgresql (apt)"
    # no default cluster on port 5432: the tests make their own (this file only affects clusters made by apt)
    mkdir -p /etc/postgresql-common/createcluster.d
    conf=/etc/postgresql-common/createcluster.d/callcenter-no-main.conf
    [[ -e $conf ]] || echo "create_main_cluster = false" >"$conf"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
}

# Run a PostgreSQL program as the cluster's owner.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

running() {
    local dir=$1 bin
    bin=$(pg_bin) || return 1
    [[ -f "$dir/url" && -f "$dir/data/postmaster.pid" ]] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

start() {
    local dir=$1 bin port url
    if running "$dir"; then
        cat "$dir/url"
        return 0
    fi
    bin=$(pg_bin) || { install_postgres; bin=$(pg_bin); }
    rm -rf "$dir"
    mkdir -p "$dir"
    chmod 700 "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
    log "creating a cluster in $dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(free_port)
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off \
         -c synchronous_commit=off -c shared_buffers=32MB -c max_connections=60" >&2 \
        || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME"
    url="postgresql+psycopg://postgres@127.0.0.1:$port/$DB_NAME"
    echo "$url" >"$dir/url"
    log "running on 127.0.0.1:$port"
    echo "$url"
}

stop() {
    local dir=$1 bin
    if bin=$(pg_bin) && [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 stop -m fast >&2 || true
    fi
    rm -rf "$dir"
}

cmd=${1:-}
dir=${2:-${CALLCENTER_PG_DIR:-$(default_dir)}}
case "$cmd" in
    start) start "$dir" ;;
    stop) stop "$dir" ;;
    url) running "$dir" && cat "$dir/url" || { log "not running ($dir)"; exit 1; } ;;
    *)
        echo "usage: $0 start|url|stop [DIR]" >&2
        exit 2
        ;;
esac
