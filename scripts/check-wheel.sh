#!/usr/bin/env bash
# Build txstore's wheel, install it (not editable) into a fresh virtual environment,
# and run a second application against it: its generated code, its lint, its types
# and its tests. The application is copied out of the checkout first and nothing of
# the checkout is on sys.path: what passes here is what a team gets from
# `pip install txstore`.
#
# usage: scripts/check-wheel.sh [APP_DIR]   (default: examples/blog)
# PYTHON picks the interpreter that builds the wheel and the virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout="$PWD"
app="${1:-examples/blog}"
python="${PYTHON:-python3}"
build="$checkout/build/wheel"
rm -rf "$build"
mkdir -p "$build"
started=$SECONDS

echo "== building the wheel from the files git tracks"
# A copy, not the checkout: setuptools reuses build/lib, so a package dropped from the
# package list would still ship from an earlier build's leftovers.
mkdir -p "$build/src"
git ls-files -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$build/src"
"$python" -m pip wheel -q --disable-pip-version-check --no-deps "$build/src" \
  -w "$build/dist" >"$build/pip-wheel.log" 2>&1 || { cat "$build/pip-wheel.log" >&2; exit 1; }
wheel="$(ls "$build"/dist/txstore-*.whl)"

echo "== checking what the wheel holds: every framework package, nothing of an application"
"$python" - "$wheel" "$checkout" <<'PY'
import pathlib
import subprocess
import sys
import zipfile

wheel, checkout = sys.argv[1], pathlib.Path(sys.argv[2])
names = zipfile.ZipFile(wheel).namelist()
framework = ("store", "authz", "audit", "migrations")
# Every package of the framework in the checkout (a directory with __init__.py) must be
# in the wheel: a subpackage left out of the package list breaks `import store` only there.
packages = sorted(
    str(init.parent.relative_to(checkout)).replace("/", ".")
    for top in framework
    for init in (checkout / top).rglob("__init__.py")
    if "__pycache__" not in init.parts
)
# ...and so must every module and marker file of the framework that git tracks.
tracked = subprocess.run(
    ["git", "ls-files", *framework], cwd=checkout, capture_output=True, text=True, check=True
).stdout.split()
missing = [p for p in packages if f"{p.replace('.', '/')}/__init__.py" not in names]
missing += [f for f in tracked if f.endswith((".py", "py.typed")) and f not in names]
stray = [n for n in names if n.split("/")[0] not in framework and ".dist-info/" not in n]
data = [n for n in names if n.endswith((".sql", ".toml"))]
words = ("workspace", "organization", "oauth2", "blog", "example")
domain = [n for n in names if any(w in n.lower() for w in words)]
for problem, found in (
    ("framework packages or modules missing", missing),
    ("files outside the framework", stray),
    ("data files", data),
    ("files named after an application", domain),
):
    if found:
        sys.exit(f"wheel: {problem}: {found}")
print(f"  {len(names)} files, {len(packages)} framework packages, nothing else")
PY

echo "== a fresh virtual environment with only the wheel (and the test tools of its extras)"
"$python" -m venv "$build/venv"
"$build/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel[test,metrics]" \
  >"$build/pip-install.log" 2>&1 || { cat "$build/pip-install.log" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$app" "$work/app"
rm -rf "$work/app"/*.egg-info "$work/app/.mypy_cache" "$work/app/.ruff_cache"
find "$work/app" -name __pycache__ -prune -exec rm -rf {} +
cd "$work/app"
export PATH="$build/venv/bin:$PATH"
unset PYTHONPATH MYPYPATH
where="$(python -c 'import store; print(store.__file__)')"
case "$where" in
  "$build/venv/"*) echo "  store imported from the wheel: $where" ;;
  *) echo "store imported from $where, not from the installed wheel" >&2; exit 1 ;;
esac
# The checkout must be out of reach: nothing imports from it.
python - "$checkout" "$build/venv" <<'PY'
import os
import sys

checkout, venv = sys.argv[1], sys.argv[2]
seen = [os.path.abspath(p or os.getcwd()) for p in sys.path]
near = [p for p in seen if (p + "/").startswith(checkout + "/") and not p.startswith(venv)]
if near:
    sys.exit(f"the checkout is on sys.path: {near}")
PY

echo "== $app, copied to $work/app: txstore gen --check, txstore lint, ruff, mypy, its tests"
txstore gen --check
txstore lint
ruff check .
mypy
python -m pytest -q -p no:cacheprovider -n 2
echo "== wheel job passed in $((SECONDS - started))s"
