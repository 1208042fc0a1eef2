"""Apply and revert migrations against a database, one transaction per version."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from migrations._dsn import Dsn
from migrations._files import Migration, fixture_files, load, read_sql, runs_outside_transaction
from migrations._lock import migration_lock
from migrations._split import Statement, line_at, split_statements
from migrations.errors import (
    AppliedVersionMissing,
    ChecksumMismatch,
    DatabaseUnreachable,
    InvalidTarget,
    MalformedDsn,
    MigrationError,
    MigrationFailed,
    OutOfOrder,
)

__all__ = ["TABLE", "AppliedMigration", "Status", "down", "goto", "status", "up"]

#: The bookkeeping table: one row per applied version.
TABLE = "public.txstore_migrations"

_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    version integer PRIMARY KEY CHECK (version > 0),
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
)
"""
_INSERT = f"INSERT INTO {TABLE} (version, name, checksum) VALUES ($1, $2, $3)"
_DELETE = f"DELETE FROM {TABLE} WHERE version = $1"


@dataclass(frozen=True)
class AppliedMigration:
    """A row of the bookkeeping table."""

    version: int
    name: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class Status:
    """Where a database stands against a migrations directory.

    ``current`` is the highest applied version (0 for none); ``problems`` lists what
    would stop ``up`` (edited applied files, out-of-order pending files, applied
    versions without a file).
    """

    current: int
    applied: tuple[AppliedMigration, ...]
    pending: tuple[Migration, ...]
    problems: tuple[MigrationError, ...]


# -- connections ---------------------------------------------------------------------


async def _connect(dsn: str, directory: Path) -> asyncpg.Connection:
    settings = {}
    if "application_name" not in dsn:
        settings["application_name"] = (
            f"txstore-migrate pid={os.getpid()} host={socket.gethostname()}"
        )
    try:
        parsed = Dsn.parse(dsn)
    except MalformedDsn as exc:
        raise DatabaseUnreachable(directory, str(exc)) from None
    try:
        # The password goes apart from the URL, so no driver message can quote it.
        conn: asyncpg.Connection = await asyncpg.connect(
            parsed.without_password(), password=parsed.password, server_settings=settings
        )
    except (
        OSError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        TimeoutError,
        ValueError,  # a DSN parameter the driver refused (sslmode=bogus, ...)
        OverflowError,
    ) as exc:
        text = parsed.redact(str(exc)) or type(exc).__name__
        raise DatabaseUnreachable(directory, f"{parsed.target()}: {text}") from None
    if conn.get_server_version().major >= 14 and "client_connection_check_interval" not in dsn:
        # A killed runner's statement would otherwise run on, holding its locks,
        # until it ends; with this the server notices the dead client within 1 s.
        # (A startup setting would be refused by servers before 14; a value in
        # the DSN is the caller's choice and stays.)
        await conn.execute("SET client_connection_check_interval = 1000")
    return conn


@contextlib.asynccontextmanager
async def _locked(
    dsn: str, directory: Path, lock_timeout: float
) -> AsyncIterator[asyncpg.Connection]:
    """A work connection, while a second connection holds the migrations lock."""
    lock_conn = await _connect(dsn, directory)
    try:
        async with migration_lock(lock_conn, wait=lock_timeout, directory=directory):
            conn = await _connect(dsn, directory)
            try:
                await conn.execute(_CREATE_TABLE)
                yield conn
            finally:
                await conn.close()
    finally:
        await lock_conn.close()


async def _applied(conn: asyncpg.Connection) -> list[AppliedMigration]:
    if await conn.fetchval("SELECT pg_catalog.to_regclass($1) IS NULL", TABLE):
        return []
    rows = await conn.fetch(
        f"SELECT version, name, checksum, applied_at FROM {TABLE} ORDER BY version"
    )
    return [AppliedMigration(r["version"], r["name"], r["checksum"], r["applied_at"]) for r in rows]


def _problems(
    directory: Path, migrations: Sequence[Migration], applied: Sequence[AppliedMigration]
) -> list[MigrationError]:
    by_version = {m.version: m for m in migrations}
    problems: list[MigrationError] = []
    for row in applied:
        migration = by_version.get(row.version)
        if migration is None:
            problems.append(AppliedVersionMissing(directory, row.version, row.name))
        elif migration.checksum != row.checksum:
            problems.append(
                ChecksumMismatch(migration.up_path, row.version, row.checksum, migration.checksum)
            )
    done = {row.version for row in applied}
    highest = max(done, default=0)
    problems.extend(
        OutOfOrder(m.up_path, m.version, highest)
        for m in migrations
        if m.version < highest and m.version not in done
    )
    return problems


# -- running files ---------------------------------------------------------------------


async def _execute_script(conn: asyncpg.Connection, sql: str) -> None:
    # An empty or comment-only query makes asyncpg fail on the server's empty response.
    if split_statements(sql):
        await conn.execute(sql)


def _server_message(exc: asyncpg.PostgresError) -> str:
    message = str(getattr(exc, "message", None) or exc)
    detail = getattr(exc, "detail", None)
    text = f"{message} (DETAIL: {detail})" if detail else message
    return " ".join(text.split())  # one line, whatever the server sent


def _position(exc: asyncpg.PostgresError) -> int | None:
    raw = getattr(exc, "position", None)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _failure(
    path: Path,
    sql: str,
    statement: Statement | None,
    exc: asyncpg.PostgresError,
    *,
    offset: int | None = None,
    note: str = "",
) -> MigrationFailed:
    if statement is not None and offset is not None:
        error_line = line_at(sql, offset)
        if error_line != statement.line:
            note = f"error at line {error_line}" + (f"; {note}" if note else "")
    return MigrationFailed(
        path,
        line=statement.line if statement else None,
        statement=statement.text if statement else None,
        server_message=_server_message(exc),
        sqlstate=getattr(exc, "sqlstate", None),
        note=note,
    )


async def _replay(
    conn: asyncpg.Connection, earlier: Sequence[str], statements: Sequence[Statement]
) -> Statement | None:
    """Run the scripts again, the failing one statement by statement, and roll back.

    Finds the failing statement when the server gave no error position (run-time
    errors such as a violated constraint).
    """
    tx = conn.transaction()
    await tx.start()
    try:
        for sql in earlier:
            await _execute_script(conn, sql)
        for statement in statements:
            try:
                await conn.execute(statement.text)
            except asyncpg.PostgresError:
                return statement
        return None
    except asyncpg.PostgresError:
        return None
    finally:
        await tx.rollback()


async def _locate(
    conn: asyncpg.Connection,
    scripts: Sequence[tuple[Path, str]],
    index: int,
    exc: asyncpg.PostgresError,
) -> MigrationFailed:
    path, sql = scripts[index]
    statements = split_statements(sql)
    position = _position(exc)
    if position is not None and statements:
        offset = position - 1
        containing = [s for s in statements if s.start <= offset]
        statement = containing[-1] if containing else statements[0]
        return _failure(path, sql, statement, exc, offset=offset)
    if len(statements) == 1:
        return _failure(path, sql, statements[0], exc)
    found = await _replay(conn, [s for _, s in scripts[:index]], statements)
    return _failure(path, sql, found, exc)


async def _run_in_transaction(
    conn: asyncpg.Connection,
    scripts: Sequence[tuple[Path, str]],
    bookkeeping: tuple[str, Sequence[object]],
    owner: Path,
) -> None:
    """Run ``scripts`` and the bookkeeping statement in one transaction."""
    index = -1
    try:
        async with conn.transaction():
            for index, (_, sql) in enumerate(scripts):  # noqa: B007  # read in the handler
                await _execute_script(conn, sql)
            index = -1
            await conn.execute(bookkeeping[0], *bookkeeping[1])
    except asyncpg.PostgresError as exc:
        if index < 0:
            raise MigrationFailed(
                owner,
                line=None,
                statement=bookkeeping[0],
                server_message=_server_message(exc),
                sqlstate=getattr(exc, "sqlstate", None),
                note=f"could not record it in {TABLE}",
            ) from exc
        raise await _locate(conn, scripts, index, exc) from exc


async def _run_outside_transaction(conn: asyncpg.Connection, path: Path, sql: str) -> None:
    statements = split_statements(sql)
    for done, statement in enumerate(statements):
        try:
            await conn.execute(statement.text)
        except asyncpg.PostgresError as exc:
            position = _position(exc)
            offset = statement.start + position - 1 if position is not None else None
            note = (
                f"this file runs outside a transaction: the {done} statement(s) before it "
                "stay applied and the version is not recorded; undo them by hand"
                if done
                else "nothing of this file was applied"
            )
            raise _failure(path, sql, statement, exc, offset=offset, note=note) from exc


async def _apply(conn: asyncpg.Connection, migration: Migration, fixtures: Sequence[Path]) -> None:
    sql = migration.up_sql()
    scripts = [(p, read_sql(p)) for p in fixtures]
    record = (_INSERT, (migration.version, migration.name, migration.checksum))
    if runs_outside_transaction(sql):
        await _run_outside_transaction(conn, migration.up_path, sql)
        await _run_in_transaction(conn, scripts, record, migration.up_path)
    else:
        await _run_in_transaction(
            conn, [(migration.up_path, sql), *scripts], record, migration.up_path
        )


async def _revert(conn: asyncpg.Connection, migration: Migration) -> None:
    sql = migration.down_sql()
    record = (_DELETE, (migration.version,))
    if runs_outside_transaction(sql):
        await _run_outside_transaction(conn, migration.down_path, sql)
        await _run_in_transaction(conn, [], record, migration.down_path)
    else:
        await _run_in_transaction(conn, [(migration.down_path, sql)], record, migration.down_path)


def _check_version(directory: Path, version: int, migrations: Sequence[Migration]) -> None:
    if not 0 <= version <= len(migrations):
        raise InvalidTarget(
            directory, f"no migration {version:06d}; versions run from 0 to {len(migrations):06d}"
        )


async def _upward(
    conn: asyncpg.Connection,
    directory: Path,
    migrations: Sequence[Migration],
    fixtures: dict[int, list[Path]],
    target: int | None,
) -> list[int]:
    applied = await _applied(conn)
    problems = _problems(directory, migrations, applied)
    if problems:
        raise problems[0]
    done = {row.version for row in applied}
    versions: list[int] = []
    for migration in migrations:
        if migration.version in done or (target is not None and migration.version > target):
            continue
        await _apply(conn, migration, fixtures.get(migration.version, []))
        versions.append(migration.version)
    return versions


async def _downward(
    conn: asyncpg.Connection, directory: Path, migrations: Sequence[Migration], target: int
) -> list[int]:
    by_version = {m.version: m for m in migrations}
    versions: list[int] = []
    for row in reversed(await _applied(conn)):
        if row.version <= target:
            break
        migration = by_version.get(row.version)
        if migration is None:
            raise AppliedVersionMissing(directory, row.version, row.name)
        await _revert(conn, migration)
        versions.append(row.version)
    return versions


# -- public ---------------------------------------------------------------------------


async def up(
    dsn: str,
    *,
    directory: Path,
    fixtures: Path | None = None,
    target: int | None = None,
    lock_timeout: float = 60.0,
) -> list[int]:
    """Apply pending migrations in order (up to ``target``); return the versions applied.

    With ``fixtures``, the fixture files of each version run right after it, in name
    order, in the same transaction. Each version commits on its own: when one fails,
    the versions before it stay applied and nothing of the failing one is kept.

    Raises:
        MalformedFileName, DuplicateVersion, MissingDownFile, MissingUpFile, VersionGap:
            the directory is invalid (see :func:`load`).
        FixtureError: the fixtures directory is missing or holds a fixture for no migration.
        InvalidTarget: ``target`` is not 0 or a version in the directory.
        ChecksumMismatch: an applied up file changed since it ran.
        OutOfOrder: a pending version is lower than the highest applied one.
        AppliedVersionMissing: the database has a version the directory lacks.
        MigrationFailed: a statement failed; names the file, line and server message.
        MigrationLockTimeout: another runner held the lock longer than ``lock_timeout``.
        DatabaseUnreachable: the database could not be connected to.
    """
    migrations = load(directory)
    by_fixture = fixture_files(fixtures, migrations) if fixtures is not None else {}
    if target is not None:
        _check_version(directory, target, migrations)
    async with _locked(dsn, directory, lock_timeout) as conn:
        return await _upward(conn, directory, migrations, by_fixture, target)


async def down(
    dsn: str, *, directory: Path, steps: int = 1, lock_timeout: float = 60.0
) -> list[int]:
    """Revert the ``steps`` most recently applied versions, newest first; return them.

    Fewer are reverted when fewer are applied. Checksums are not checked, so an
    unpublished migration can be edited, reverted and applied again.

    Raises:
        MalformedFileName, DuplicateVersion, MissingDownFile, MissingUpFile, VersionGap:
            the directory is invalid (see :func:`load`).
        InvalidTarget: ``steps`` is negative.
        AppliedVersionMissing: a version to revert has no file in the directory.
        MigrationFailed: a statement of a down file failed; that version stays applied.
        MigrationLockTimeout: another runner held the lock longer than ``lock_timeout``.
        DatabaseUnreachable: the database could not be connected to.
    """
    migrations = load(directory)
    if steps < 0:
        raise InvalidTarget(directory, f"cannot revert {steps} steps")
    if steps == 0:
        return []
    async with _locked(dsn, directory, lock_timeout) as conn:
        applied = await _applied(conn)
        target = applied[-steps].version - 1 if len(applied) >= steps else 0
        return await _downward(conn, directory, migrations, target)


async def goto(dsn: str, version: int, *, directory: Path, lock_timeout: float = 60.0) -> list[int]:
    """Migrate up or down until ``version`` is the highest applied; return the versions run.

    ``version`` 0 reverts everything.

    Raises:
        InvalidTarget: ``version`` is not 0 or a version in the directory.
        Everything :func:`up` (going up) or :func:`down` (going down) raises.
    """
    migrations = load(directory)
    _check_version(directory, version, migrations)
    async with _locked(dsn, directory, lock_timeout) as conn:
        applied = await _applied(conn)
        current = max((row.version for row in applied), default=0)
        if version < current:
            return await _downward(conn, directory, migrations, version)
        return await _upward(conn, directory, migrations, {}, version)


async def status(dsn: str, *, directory: Path) -> Status:
    """What is applied, what is pending and what is wrong; takes no lock and changes nothing.

    Raises:
        MalformedFileName, DuplicateVersion, MissingDownFile, MissingUpFile, VersionGap:
            the directory is invalid (see :func:`load`).
        DatabaseUnreachable: the database could not be connected to.
    """
    migrations = load(directory)
    conn = await _connect(dsn, directory)
    try:
        applied = await _applied(conn)
    finally:
        await conn.close()
    done = {row.version for row in applied}
    return Status(
        current=max(done, default=0),
        applied=tuple(applied),
        pending=tuple(m for m in migrations if m.version not in done),
        problems=tuple(_problems(directory, migrations, applied)),
    )
