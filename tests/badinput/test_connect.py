"""Malformed DSNs, wrong passwords, unreachable hosts: one clear DatabaseUnavailable each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

import store
from store._localpg import LocalCluster, free_port
from store._pg import open_pool
from store.errors import DatabaseUnavailable
from store.testing._server import TestServer

PASSWORD = "Corr3ct-horse-battery"  # noqa: S105  # a test role's password
WRONG = "Wr0ng-staple-guess"  # the password a misconfigured client sends
HBA = """\
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scram_cluster() -> AsyncIterator[LocalCluster]:
    """A cluster of our own where the role ``app`` must log in with a SCRAM password."""
    cluster = LocalCluster()
    await asyncio.to_thread(cluster.start)
    try:
        (cluster.data_dir / "pg_hba.conf").write_text(HBA)
        conn = await asyncpg.connect(cluster.dsn())
        try:
            await conn.execute("SET password_encryption = 'scram-sha-256'")
            await conn.execute(f"CREATE ROLE app LOGIN PASSWORD '{PASSWORD}'")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)


def _assert_clear(exc: DatabaseUnavailable, *secrets: str) -> None:
    text = f"{exc} {exc!r} {exc.host}"
    for secret in secrets:
        assert secret not in text
    assert exc.__cause__ is None or all(s not in str(exc.__cause__) for s in secrets)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_right_password_connects(scram_cluster: LocalCluster) -> None:
    pg = await store.connect(
        f"postgresql://app:{PASSWORD}@127.0.0.1:{scram_cluster.port}/postgres",
        min_size=1,
        max_size=1,
    )
    await pg.ping()
    await pg.close()


@pytest.mark.asyncio(loop_scope="module")
async def test_a_wrong_password_names_the_host_and_never_a_password(
    scram_cluster: LocalCluster,
) -> None:
    dsn = f"postgresql://app:{WRONG}@127.0.0.1:{scram_cluster.port}/postgres"
    with pytest.raises(DatabaseUnavailable, match="user name and password") as caught:
        await store.connect(dsn, min_size=1, max_size=1)
    assert f"127.0.0.1:{scram_cluster.port}" in str(caught.value)
    assert caught.value.sqlstate == "28P01"
    _assert_clear(caught.value, WRONG, PASSWORD)


@pytest.mark.asyncio(loop_scope="module")
async def test_an_unknown_database_says_so(scram_cluster: LocalCluster) -> None:
    dsn = f"postgresql://app:{PASSWORD}@127.0.0.1:{scram_cluster.port}/nowhere"
    with pytest.raises(DatabaseUnavailable, match="does not exist") as caught:
        await store.connect(dsn, min_size=1, max_size=1)
    _assert_clear(caught.value, PASSWORD)


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://app:{WRONG}@127.0.0.1:notaport/db",
        f"postgresql://app:{WRONG}@127.0.0.1:99999/db",
        f"postgresql://app:{WRONG}@[::1/db",
        f"postgresql://app:{WRONG}@127.0.0.1:5432/db?sslmode=bogus",
        "postgresql://app@127.0.0.1:5432/db?target_session_attrs=sometimes",
    ],
)
async def test_a_malformed_dsn_is_one_clear_error(dsn: str) -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        await store.connect(dsn, min_size=1, max_size=1)
    _assert_clear(caught.value, WRONG)


async def test_a_closed_port_is_unavailable() -> None:
    dsn = f"postgresql://app:{WRONG}@127.0.0.1:{free_port()}/db"
    with pytest.raises(DatabaseUnavailable, match="reachable") as caught:
        await store.connect(dsn, min_size=1, max_size=1)
    _assert_clear(caught.value, WRONG)


async def test_an_unroutable_host_times_out_into_unavailable() -> None:
    # 192.0.2.0/24 is TEST-NET-1: packets go nowhere, so only the connect timeout ends it.
    dsn = f"postgresql://app:{WRONG}@192.0.2.1:5432/db"
    async with asyncio.timeout(20):
        with pytest.raises(DatabaseUnavailable, match=r"192\.0\.2\.1") as caught:
            await open_pool(dsn, min_size=1, max_size=1, connect_timeout=0.2)
    _assert_clear(caught.value, WRONG)


async def test_impossible_pool_sizes_are_not_blamed_on_the_dsn(pg_server: TestServer) -> None:
    with pytest.raises(ValueError, match="min_size=2, max_size=1"):
        await store.connect(pg_server.admin_dsn, max_size=1)  # min_size defaults to 2
