#!/usr/bin/env bash
# Make pg_auto_failover (pg_autoctl and its extension for the system PostgreSQL)
# available for `make test-ha`. Debian packages when we are root with apt.
set -euo pipefail

have_autoctl() {
  command -v pg_autoctl >/dev/null && return 0
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_autoctl" ] && return 0
  done
  return 1
}

if ! have_autoctl && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  major=$(ls /usr/lib/postgresql | sort -n | tail -1)
  echo "installing postgresql-${major}-auto-failover from Debian packages" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "postgresql-${major}-auto-failover" pg-auto-failover-cli >/dev/null
  # A packaged cluster or service is not ours to run: the tests start their own.
  service postgresql stop >/dev/null 2>&1 || true
fi
have_autoctl || {
  echo "pg_autoctl not found: install postgresql-<major>-auto-failover (pg_auto_failover)" >&2
  exit 1
}
