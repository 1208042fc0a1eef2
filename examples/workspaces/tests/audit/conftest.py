"""Fixtures of the audit tests; every test's logs and audit rows are scanned for secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import store
import structlog
from store import ServerVersion

from tests.audit._support import (
    LEDGER,
    SHAPES,
    Ledger,
    audit_row_texts,
    event_texts,
    seed,
    server_of,
)
from workspaces.db import CONSTRAINTS, Queries


@pytest.fixture(autouse=True)
def ledger() -> Iterator[Ledger]:
    """The run's secret ledger; the test's structlog events must not contain any of it."""
    with structlog.testing.capture_logs() as events:
        yield LEDGER
    leaked = LEDGER.leaks(event_texts(events))
    assert not leaked, f"secret values in log events: {leaked}"


@pytest_asyncio.fixture
async def pg(db_dsn: str) -> AsyncIterator[Queries]:
    """A PgStore on a fresh, seeded database; its audit rows must not contain a secret."""
    pg = Queries(await store.connect(db_dsn, max_size=12, constraints=CONSTRAINTS))
    try:
        await seed(pg)
        yield pg
    finally:
        await pg.store.close()
    leaked = LEDGER.leaks(await audit_row_texts(db_dsn))
    assert not leaked, f"secret values in audit_logs rows: {leaked}"


@pytest.fixture(params=sorted(SHAPES))
async def shape(request: pytest.FixtureRequest, pg: Queries) -> ServerVersion:
    """The server version the audit layer derives its single statement for (one per shape)."""
    version = SHAPES[request.param]
    if version.returning_old_new and not (await server_of(pg)).returning_old_new:
        pytest.skip(f"RETURNING OLD needs PostgreSQL 18; the server is {await server_of(pg)}")
    return version
