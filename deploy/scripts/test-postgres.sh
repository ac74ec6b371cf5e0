#!/usr/bin/env bash
# Prints a PostgreSQL connection string the tests may create databases on.
# Uses TEST_DATABASE_URL (default: the local server on 5432, user postgres) when
# it answers; otherwise starts a throwaway cluster under /tmp on port 25432.
set -euo pipefail
url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
if psql "$url" -qAtc 'select 1' >/dev/null 2>&1; then echo "$url"; exit 0; fi

bindir=$(dirname "$(command -v initdb 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
dir=/tmp/exekra-test-pg port=25432
own="postgres"; id -u "$own" >/dev/null 2>&1 || own=nobody
run() { if [ "$(id -u)" = 0 ]; then runuser -u "$own" -- "$@"; else "$@"; fi; }
throwaway="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
if psql "$throwaway" -qAtc 'select 1' >/dev/null 2>&1; then echo "$throwaway"; exit 0; fi
echo "PostgreSQL not reachable at $url; starting a throwaway cluster in $dir on port $port" >&2
rm -rf "$dir"; mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown "$own" "$dir"
run "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
run "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=300 -c fsync=off" start >/dev/null
echo "$throwaway"
