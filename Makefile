# Every target sets up what it needs: the virtual environment and PostgreSQL binaries.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.txstore-installed
PYTEST_ARGS ?=
EXAMPLE := examples/workspaces
BLOG := examples/blog
SERVICE := examples/service
SERVICE_PORT ?= 8080

.PHONY: demo service test test-wheel lint typecheck check bench dev postgres clean

$(STAMP): pyproject.toml $(EXAMPLE)/pyproject.toml $(SERVICE)/pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test,metrics,bench]'
	@$(PY) -m pip install -q --disable-pip-version-check --no-deps -e $(EXAMPLE)
	@# the HTTP service example brings its web dependencies (starlette, uvicorn, httpx)
	@$(PY) -m pip install -q --disable-pip-version-check -e '$(SERVICE)[test]'
	@touch $@

postgres: $(STAMP)
	@scripts/ensure-postgres.sh $(PY)

## The main job: a walk through txstore on an embedded local PostgreSQL (the reference
## application's demo, examples/workspaces).
demo: $(STAMP) postgres
	@cd $(EXAMPLE) && $(CURDIR)/$(VENV)/bin/txstore demo

## The HTTP service over the reference application (examples/service): a throw-away local
## PostgreSQL, migrated, a user seeded with an API key (printed), served on 127.0.0.1.
service: $(STAMP) postgres
	@cd $(SERVICE) && $(CURDIR)/$(PY) -m workspaces_service --port $(SERVICE_PORT)

## The framework's tests, then the reference application's, the blog's and the service's
## (each its own project, on real PostgreSQL started by the suite itself), then the store suites and the
## application's authz and audit suites again through PgBouncer in transaction pooling mode.
PGBOUNCER_SUITES := tests/store/test_store.py tests/store/test_tx.py tests/store/test_metrics.py \
	tests/authz
EXAMPLE_PGBOUNCER_SUITES := tests/authz tests/audit
test: $(STAMP) postgres
	@mkdir -p build
	$(PY) -m pytest -n 2 --dist loadfile --junitxml=build/junit.xml $(PYTEST_ARGS)
	cd $(EXAMPLE) && $(CURDIR)/$(PY) -m pytest -n 2 --dist loadfile \
		--junitxml=$(CURDIR)/build/junit-example.xml $(PYTEST_ARGS)
	cd $(BLOG) && $(CURDIR)/$(PY) -m pytest -n 2 --dist loadfile \
		--junitxml=$(CURDIR)/build/junit-blog.xml $(PYTEST_ARGS)
	cd $(SERVICE) && $(CURDIR)/$(PY) -m pytest -n 2 --dist loadfile \
		--junitxml=$(CURDIR)/build/junit-service.xml $(PYTEST_ARGS)
	TXSTORE_TEST_PGBOUNCER=1 TXSTORE_STATEMENT_CACHE_SIZE=0 \
		$(PY) -m pytest -n 2 --dist loadfile --junitxml=build/junit-pgbouncer.xml $(PGBOUNCER_SUITES)
	cd $(EXAMPLE) && TXSTORE_TEST_PGBOUNCER=1 TXSTORE_STATEMENT_CACHE_SIZE=0 \
		$(CURDIR)/$(PY) -m pytest -n 2 --dist loadfile \
		--junitxml=$(CURDIR)/build/junit-example-pgbouncer.xml $(EXAMPLE_PGBOUNCER_SUITES)

## ruff, mypy --strict and `txstore lint` over the framework and its tests, then over the
## reference application, the blog and the service example (their own settings: private
## imports of txstore are findings there). In this checkout txstore is an editable install,
## an import hook mypy cannot follow, so the blog's mypy gets the checkout through MYPYPATH.
lint: $(STAMP) postgres
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/txstore lint
	cd $(EXAMPLE) && $(CURDIR)/$(VENV)/bin/mypy
	cd $(EXAMPLE) && $(CURDIR)/$(VENV)/bin/txstore lint
	cd $(BLOG) && $(CURDIR)/$(VENV)/bin/ruff check . && $(CURDIR)/$(VENV)/bin/ruff format --check .
	cd $(BLOG) && MYPYPATH=$(CURDIR) $(CURDIR)/$(VENV)/bin/mypy
	cd $(BLOG) && $(CURDIR)/$(VENV)/bin/txstore lint
	cd $(SERVICE) && $(CURDIR)/$(VENV)/bin/mypy
	cd $(SERVICE) && $(CURDIR)/$(VENV)/bin/txstore lint

## txstore as a user gets it: build the wheel, install it (not editable) into a fresh
## virtual environment, and run the blog, copied out of the checkout, against it
## (txstore gen --check, txstore lint, ruff, mypy, its tests). See scripts/check-wheel.sh.
test-wheel: postgres
	PYTHON=$(CURDIR)/$(PY) scripts/check-wheel.sh $(BLOG)

check: lint test

bench: $(STAMP) postgres
	$(PY) -m bench

dev: $(STAMP) postgres
	@$(VENV)/bin/txstore dev

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache
