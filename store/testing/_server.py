"""The test server: where it comes from, its migrated template, and per-test clones."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from migrations._dsn import Dsn
from migrations.errors import MalformedDsn
from store._localpg import LocalCluster, PgBinaries, find_binaries
from store.errors import DatabaseUnavailable, PostgresNotFound

__all__ = ["TEST_TIMEZONE", "TestServer", "start_server"]

#: Every test database runs in a zone with a fractional offset and daylight
#: saving, so a timestamp handled without its zone shows up as a wrong value.
TEST_TIMEZONE = "America/St_Johns"
_DB_PREFIX = "txstore_t_"
_TEMPLATE_PREFIX = "txstore_tpl_"
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
_TEMPLATE_LOCK = 0x7478_7374_6F72_65  # "txstore": serializes template builds across workers


def _with_db(dsn: str, dbname: str) -> str:
    # Through the one parser: TXSTORE_TEST_DSN may be a URL or libpq keywords.
    return dataclasses.replace(Dsn.parse(dsn), database=dbname).url()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def files_hash(*directories: Path) -> str:
    """A hash of every file's name and bytes under the given directories."""
    digest = hashlib.sha256()
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(directory)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]  # always a coroutine here


@dataclass
class TestServer:
    """A PostgreSQL server the test run may create and drop databases on."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    admin_dsn: str
    source: str  # "TXSTORE_TEST_DSN", "local binaries (...)" or "testcontainers"
    binaries: PgBinaries | None = None
    _cluster: LocalCluster | None = field(default=None, repr=False)
    _container: object | None = field(default=None, repr=False)
    _owner_tag: str = field(default="", repr=False)

    def dsn(self, dbname: str) -> str:
        return _with_db(self.admin_dsn, dbname)

    def stop(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()
        if self._container is not None:
            self._container.stop()  # type: ignore[attr-defined]  # testcontainers is untyped

    # -- databases -------------------------------------------------------------
    async def _admin(self) -> asyncpg.Connection:
        parsed = Dsn.parse(self.admin_dsn)
        return await asyncpg.connect(parsed.without_password(), password=parsed.password)

    async def create_database(self, template: str | None = None) -> str:
        """Create a uniquely named database (a clone of ``template`` when given).

        The name carries a hash of this host and the owning run's pid, so a
        later run can tell databases of dead runs from those of live ones.
        """
        name = f"{_DB_PREFIX}{self._owner_tag}_{uuid.uuid4().hex[:10]}"
        conn = await self._admin()
        try:
            clause = f" TEMPLATE {_quote_ident(template)} STRATEGY FILE_COPY" if template else ""
            await conn.execute(f"CREATE DATABASE {_quote_ident(name)}{clause}")
            await conn.execute(
                f"ALTER DATABASE {_quote_ident(name)} SET timezone TO '{TEST_TIMEZONE}'"
            )
        finally:
            await conn.close()
        return name

    async def drop_database(self, name: str) -> None:
        conn = await self._admin()
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
        finally:
            await conn.close()

    async def drop_abandoned(self) -> list[str]:
        """Drop test databases whose creating process on this host is gone."""
        conn = await self._admin()
        dropped: list[str] = []
        try:
            rows = await conn.fetch(
                "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", _DB_PREFIX
            )
            for row in rows:
                host, _, pid = row["datname"][len(_DB_PREFIX) :].partition("_")
                pid = pid.partition("_")[0]
                if host != _HOST or not pid.isdigit() or _alive(int(pid)):
                    continue  # another machine's, or a live run's: not ours to drop
                await conn.execute(
                    f"DROP DATABASE IF EXISTS {_quote_ident(row['datname'])} WITH (FORCE)"
                )
                dropped.append(row["datname"])
        finally:
            await conn.close()
        return dropped

    async def ensure_template(self, migrations_dir: Path, *, fixtures: Path | None = None) -> str:
        """Return a template database migrated to head, building it at most once.

        The name carries a hash of the migration files, so an unchanged tree
        reuses the template of an earlier run on the same server. An advisory
        lock makes concurrent workers build it once.
        """
        from migrations import up  # the plugin is the only place tests meet migrations

        suffix = "_fx" if fixtures else ""
        name = f"{_TEMPLATE_PREFIX}{files_hash(migrations_dir, *(p for p in [fixtures] if p))}"
        name += suffix
        conn = await self._admin()
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", _TEMPLATE_LOCK)
            ready = await conn.fetchval(
                "SELECT datistemplate FROM pg_database WHERE datname = $1", name
            )
            if ready:
                return name
            await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
            await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
            try:
                await up(self.dsn(name), directory=migrations_dir, fixtures=fixtures)
            except BaseException:
                await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
                raise
            # Marking it a template last is what tells other workers it is complete.
            await conn.execute(f"ALTER DATABASE {_quote_ident(name)} WITH IS_TEMPLATE true")
            return name
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _TEMPLATE_LOCK)
            await conn.close()


def owner_tag_for(pid: int) -> str:
    """The tag test databases of the run with this pid carry in their names."""
    return f"{_HOST}_{pid}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _reachable(dsn: str) -> None:
    try:
        target = Dsn.parse(dsn)
    except MalformedDsn as exc:
        raise DatabaseUnavailable(f"TXSTORE_TEST_DSN: {exc}", host=exc.shown) from None
    try:
        conn = await asyncpg.connect(
            target.without_password(), password=target.password, timeout=10
        )
    except (TimeoutError, OSError, ValueError, asyncpg.PostgresError) as exc:
        host = target.target()
        raise DatabaseUnavailable(
            f"TXSTORE_TEST_DSN points at {host}, which refused the connection: "
            f"{type(exc).__name__}: {target.redact(str(exc))}",
            host=host,
        ) from None
    await conn.close()


def _docker_answers() -> bool:
    with contextlib.suppress(Exception):
        import docker  # type: ignore[import-untyped]  # optional, untyped

        docker.from_env(timeout=3).ping()
        return True
    return False


def start_server(*, owner_tag: str | None = None) -> TestServer:
    """Pick and start the test server: DSN, else local binaries, else testcontainers.

    Raises:
        PostgresNotFound: none of the three is available; the message says how to
            provide one. Never a silent skip.
        DatabaseUnavailable: ``TXSTORE_TEST_DSN`` is set but unreachable.
    """
    tag = owner_tag or owner_tag_for(os.getpid())
    if dsn := os.environ.get("TXSTORE_TEST_DSN"):
        _run(_reachable(dsn))
        # Kept as a URL: tests, PgBouncer and the clones read it as one.
        url = Dsn.parse(dsn).url()
        return TestServer(admin_dsn=url, source="TXSTORE_TEST_DSN", _owner_tag=tag)
    try:
        binaries = find_binaries()
    except PostgresNotFound as missing:
        if not _docker_answers():
            raise PostgresNotFound(
                f"{missing}; no Docker engine answered for testcontainers either"
            ) from None
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver=None)
        container.start()
        url = container.get_connection_url()
        return TestServer(
            admin_dsn=url, source="testcontainers", _container=container, _owner_tag=tag
        )
    started = time.perf_counter()
    cluster = LocalCluster(binaries=binaries)
    cluster.start()
    took = time.perf_counter() - started
    return TestServer(
        admin_dsn=cluster.dsn(),
        source=f"local binaries ({binaries.source}: {binaries.bindir}, PostgreSQL "
        f"{binaries.major}, ephemeral cluster ready in {took:.2f}s)",
        binaries=binaries,
        _cluster=cluster,
        _owner_tag=tag,
    )


@contextlib.contextmanager
def server_for_process() -> Iterator[TestServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
