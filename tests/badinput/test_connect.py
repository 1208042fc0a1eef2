"""Malformed DSNs, wrong passwords, unreachable hosts: one clear DatabaseUnavailable each."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import AsyncIterator, Callable
from urllib.parse import quote

import asyncpg
import pytest
import pytest_asyncio

import store
from store._localpg import LocalCluster, free_port
from store._pg import open_pool
from store.errors import DatabaseUnavailable
from store.pubsub import PubSub
from store.testing._server import TestServer

PASSWORD = "Corr3ct-horse-battery"  # noqa: S105  # a test role's password
WRONG = "Wr0ng-staple-guess"  # the password a misconfigured client sends
#: A password holding every character some DSN form treats specially.
ODD = "Odd/pw?x#y@z:q w'v\\u"
ODD_WRONG = "Bad/pw?k#j@h:g f'e\\d"
#: What must never show of ODD_WRONG: itself and the pieces a DSN reader could cut it into.
ODD_PIECES = (ODD_WRONG, "Bad/", "pw?k", "k#j", "j@h", "h:g", "f'e", "Bad")
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
            odd = ODD.replace("'", "''")
            await conn.execute(f"CREATE ROLE odd LOGIN PASSWORD '{odd}'")
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


def _keyword(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


#: Each DSN form txstore reads, for the role ``odd`` on ``port`` with ``password``.
FORMS: dict[str, Callable[[int, str], str]] = {
    "url": lambda port, pw: f"postgresql://odd:{quote(pw, safe='')}@127.0.0.1:{port}/postgres",
    "postgres-scheme": lambda port, pw: (
        f"postgres://odd:{quote(pw, safe='')}@127.0.0.1:{port}/postgres"
    ),
    "query-password": lambda port, pw: (
        f"postgresql://odd@127.0.0.1:{port}/postgres?password={quote(pw, safe='')}"
    ),
    "keywords": lambda port, pw: (
        f"host=127.0.0.1 port={port} user=odd dbname=postgres password={_keyword(pw)}"
    ),
    "multi-host": lambda port, pw: (
        f"postgresql://odd:{quote(pw, safe='')}@127.0.0.1:{free_port()},127.0.0.1:{port}/postgres"
    ),
}


def _assert_never_shown(exc: BaseException, *pieces: str) -> None:
    said = "".join(traceback.format_exception(exc))
    chain: BaseException | None = exc
    while chain is not None:
        said += f" {chain} {chain!r} {vars(chain)!r}"
        chain = chain.__cause__ or chain.__context__
    for piece in pieces:
        assert piece not in said, f"{piece!r} shown in:\n{said}"


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.asyncio(loop_scope="module")
async def test_every_dsn_form_connects_with_an_odd_password(
    scram_cluster: LocalCluster, form: str
) -> None:
    pg = await store.connect(FORMS[form](scram_cluster.port, ODD), min_size=1, max_size=1)
    await pg.ping()
    await pg.close()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.asyncio(loop_scope="module")
async def test_a_wrong_password_in_any_dsn_form_is_never_shown(
    scram_cluster: LocalCluster, form: str
) -> None:
    dsn = FORMS[form](scram_cluster.port, ODD_WRONG)
    with pytest.raises(DatabaseUnavailable, match="user name and password") as caught:
        await store.connect(dsn, min_size=1, max_size=1)
    assert f"127.0.0.1:{scram_cluster.port}/postgres" in str(caught.value)
    _assert_never_shown(caught.value, *ODD_PIECES, quote(ODD_WRONG, safe=""))
    hub = PubSub(dsn)
    with pytest.raises(DatabaseUnavailable) as caught:
        await hub.start()
    _assert_never_shown(caught.value, *ODD_PIECES, quote(ODD_WRONG, safe=""))


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://odd:{ODD_WRONG}@127.0.0.1:5432/postgres",  # raw / ? # @ : in the password
        f"postgresql://odd:{ODD_WRONG}@127.0.0.1:99999999/postgres",
        f"postgresql://odd:{quote(ODD_WRONG, safe='')}@127.0.0.1:99999999/postgres",
        f"host=127.0.0.1 port=5432 password='{ODD_WRONG}",  # the quote is never closed
        f"host=127.0.0.1 port=99999999 password={_keyword(ODD_WRONG)}",
        f"mysql://odd:{quote(ODD_WRONG, safe='')}@127.0.0.1/postgres",
    ],
    ids=[
        "raw-specials",
        "huge-port",
        "huge-port-encoded",
        "unclosed-quote",
        "keyword-port",
        "scheme",
    ],
)
async def test_a_malformed_dsn_is_one_clear_error_that_hides_the_password(dsn: str) -> None:
    for min_size in (1, 0):  # with no connection opened up front too
        with pytest.raises(DatabaseUnavailable, match="the DSN is malformed") as caught:
            await store.connect(dsn, min_size=min_size, max_size=1)
        _assert_never_shown(caught.value, *ODD_PIECES)
    with pytest.raises(DatabaseUnavailable, match="the DSN is malformed") as caught:
        await PubSub(dsn).start()
    _assert_never_shown(caught.value, *ODD_PIECES)
