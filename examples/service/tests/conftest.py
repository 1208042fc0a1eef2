"""Fixtures: a fresh database per test (txstore's plugin), the service over it, a seeded user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Any

import httpx
import pytest
import pytest_asyncio
import store
import structlog
from starlette.applications import Starlette
from workspaces.db import CONSTRAINTS, Queries

from workspaces_service.app import create_app

#: The address the test client calls from (a documentation range), so audit rows show it.
CLIENT_IP = "203.0.113.7"


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """The structlog events of the test."""
    with structlog.testing.capture_logs() as events:
        yield events


@pytest_asyncio.fixture
async def bare(db_dsn: str) -> AsyncIterator[Queries]:
    """A store below every layer, for seeding and for reading what landed."""
    queries = Queries(await store.connect(db_dsn, min_size=1, max_size=2, constraints=CONSTRAINTS))
    try:
        yield queries
    finally:
        await queries.store.close()


def client_for(app: Starlette) -> httpx.AsyncClient:
    """An HTTP client over ``app`` in this process (its lifespan must be running)."""
    transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://service")


@pytest_asyncio.fixture
async def client(db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    """The service over the test's database, called over HTTP."""
    app = create_app(db_dsn)
    async with app.router.lifespan_context(app), client_for(app) as http:
        yield http
