"""The txstore pytest plugin: a fresh, real PostgreSQL database per test.

Registered through the ``pytest11`` entry point. The server is, in order: the
one named by ``TXSTORE_TEST_DSN``; an ephemeral cluster from local PostgreSQL
binaries (safe as root); a testcontainers PostgreSQL when a Docker engine
answers. There is no fallback to a mock. Under pytest-xdist the controller
starts the server once and hands its DSN to the workers.

Fixtures: ``pg_server`` (session), ``db_dsn`` (a new database migrated to head),
``empty_db_dsn`` (a new empty database).

The application's settings come from the ``[tool.txstore]`` table found from
pytest's rootdir upwards. The plugin is installed for every project in the
environment, so a project without that table is left alone: no server is
started and no header printed until a test asks for a fixture, and ``db_dsn``
then fails with one line saying the table is missing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from store._config import Config, find_pyproject, load_config
from store.errors import ConfigError
from store.testing._pgbouncer import PgBouncer
from store.testing._server import TEST_TIMEZONE, TestServer, start_server

__all__ = ["db_dsn", "empty_db_dsn", "pg_server"]

_SERVER = pytest.StashKey[TestServer]()
_OWNED = pytest.StashKey[bool]()
_TEMPLATE = pytest.StashKey[str]()
_BOUNCER = pytest.StashKey[PgBouncer]()
_CONFIG = pytest.StashKey[Config]()


def _has_settings(config: pytest.Config) -> bool:
    return find_pyproject(config.rootpath) is not None


def _settings(config: pytest.Config) -> Config:
    settings = config.stash.get(_CONFIG, None)
    if settings is None:
        try:
            settings = config.stash[_CONFIG] = load_config(config.rootpath)
        except ConfigError as exc:
            raise pytest.UsageError(f"txstore: {exc}") from None
    return settings


def _bouncer(config: pytest.Config, server: TestServer) -> PgBouncer | None:
    """With ``TXSTORE_TEST_PGBOUNCER=1``, ``db_dsn`` goes through a PgBouncer in
    transaction pooling mode (one per test process), started on first use."""
    if os.environ.get("TXSTORE_TEST_PGBOUNCER") != "1":
        return None
    bouncer = config.stash.get(_BOUNCER, None)
    if bouncer is None:
        bouncer = config.stash[_BOUNCER] = PgBouncer(server.admin_dsn, default_pool_size=20)
        bouncer.start()
    return bouncer


def _server(config: pytest.Config) -> TestServer:
    server = config.stash.get(_SERVER, None)
    if server is not None:
        return server
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and "txstore_admin_dsn" in workerinput:
        server = TestServer(
            admin_dsn=workerinput["txstore_admin_dsn"],
            source=workerinput["txstore_source"],
            _owner_tag=workerinput["txstore_owner_tag"],
        )
        config.stash[_OWNED] = False
    else:
        server = start_server()
        config.stash[_OWNED] = True
        import asyncio

        asyncio.run(server.drop_abandoned())
    config.stash[_SERVER] = server
    return server


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: start the server once and pass it to each worker."""
    if not _has_settings(node.config):
        return  # not a txstore project: workers start a server only if a test asks
    server = _server(node.config)
    node.workerinput["txstore_admin_dsn"] = server.admin_dsn
    node.workerinput["txstore_source"] = server.source
    node.workerinput["txstore_owner_tag"] = server._owner_tag


def pytest_report_header(config: pytest.Config) -> str | None:
    if not _has_settings(config):
        return None
    via = (
        " via PgBouncer (transaction pooling)"
        if os.environ.get("TXSTORE_TEST_PGBOUNCER") == "1"
        else ""
    )
    return f"txstore: PostgreSQL from {_server(config).source}{via}; time zone {TEST_TIMEZONE}"


def pytest_unconfigure(config: pytest.Config) -> None:
    bouncer = config.stash.get(_BOUNCER, None)
    if bouncer is not None:
        bouncer.stop()
    server = config.stash.get(_SERVER, None)
    if server is not None and config.stash.get(_OWNED, False):
        server.stop()


@pytest.fixture(scope="session")
def pg_server(pytestconfig: pytest.Config) -> TestServer:
    """The PostgreSQL server of this test run (create and drop databases on it)."""
    return _server(pytestconfig)


@pytest_asyncio.fixture(loop_scope="function")
async def db_dsn(pytestconfig: pytest.Config, pg_server: TestServer) -> AsyncIterator[str]:
    """DSN of a brand-new database migrated to head, dropped after the test."""
    template = pytestconfig.stash.get(_TEMPLATE, None)
    if template is None:
        template = await pg_server.ensure_template(_settings(pytestconfig).migrations)
        pytestconfig.stash[_TEMPLATE] = template
    name = await pg_server.create_database(template)
    bouncer = _bouncer(pytestconfig, pg_server)
    try:
        yield bouncer.dsn(name) if bouncer else pg_server.dsn(name)
    finally:
        await pg_server.drop_database(name)


@pytest_asyncio.fixture(loop_scope="function")
async def empty_db_dsn(pg_server: TestServer) -> AsyncIterator[str]:
    """DSN of a brand-new empty database, dropped after the test."""
    name = await pg_server.create_database()
    try:
        yield pg_server.dsn(name)
    finally:
        await pg_server.drop_database(name)
