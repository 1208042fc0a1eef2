"""Fixtures: the blog's stores on the plugin's fresh database, and a few people on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
import store

from blog.db import CONSTRAINTS, Queries
from blog.stack import connect
from tests._people import People, register


@pytest_asyncio.fixture
async def pg(db_dsn: str) -> AsyncIterator[Queries]:
    """The bare store (no layers) on a fresh database migrated with the blog's migrations."""
    pg = Queries(await store.connect(db_dsn, min_size=1, max_size=4, constraints=CONSTRAINTS))
    try:
        yield pg
    finally:
        await pg.store.close()


@pytest_asyncio.fixture
async def app(db_dsn: str) -> AsyncIterator[Queries]:
    """The full stack, as the blog runs it: audit → authz → PostgreSQL."""
    app = await connect(db_dsn, min_size=1, max_size=4)
    try:
        yield app
    finally:
        await app.store.close()


@pytest_asyncio.fixture
async def people(pg: Queries) -> People:
    """An editor, two authors and a reader, stored through the bare store."""
    return await register(pg)
