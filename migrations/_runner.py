"""Apply and revert migrations against a database, one transaction per version.

Every version runs on a session of its own, opened for it and closed after it:
settings, roles, temporary tables, prepared statements, advisory locks and
LISTENs a file leaves behind end with its session, so a version sees the same
session whether one run applies it after others or a run applies it alone.
Every file is read and checked (UTF-8, no transaction control) before the first
version of a run starts.
"""

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
from migrations._server_errors import key_columns, scrub, value_free_message
from migrations._split import Statement, line_at, split_statements, transaction_control
from migrations.errors import (
    AppliedVersionMissing,
    ChecksumMismatch,
    DatabaseUnreachable,
    InvalidTarget,
    MalformedDsn,
    MigrationError,
    MigrationFailed,
    OutOfOrder,
    TransactionControl,
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
    """The connection holding the migrations lock, for the bookkeeping reads.

    Migrations never run on it (see :func:`_session`), so nothing a file does can
    release the lock or change how the bookkeeping is read.
    """
    lock_conn = await _connect(dsn, directory)
    try:
        async with migration_lock(lock_conn, wait=lock_timeout, directory=directory):
            await lock_conn.execute(_CREATE_TABLE)
            yield lock_conn
    finally:
        await lock_conn.close()


@contextlib.asynccontextmanager
async def _session(dsn: str, directory: Path) -> AsyncIterator[asyncpg.Connection]:
    """A new session for one version, closed after it.

    A new session rather than ``DISCARD ALL`` on a reused one: it also starts from
    the database's and role's settings as they are now (a version may have run
    ``ALTER DATABASE ... SET``), exactly as a later run or the application would.
    """
    conn = await _connect(dsn, directory)
    try:
        yield conn
    finally:
        await conn.close()


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


async def _standard_strings(conn: asyncpg.Connection) -> bool:
    """The session's ``standard_conforming_strings``, which decides how its strings are read."""
    return bool(await conn.fetchval("SHOW standard_conforming_strings") == "on")


def _refuse_transaction_control(
    path: Path, sql: str, *, standard_strings: bool, outside_transaction: bool
) -> None:
    found = transaction_control(split_statements(sql, standard_strings=standard_strings))
    if found is not None:
        raise TransactionControl(
            path,
            line=found.line,
            statement=found.text,
            outside_transaction=outside_transaction,
            note="nothing of this version was kept",
        )


async def _execute_script(conn: asyncpg.Connection, sql: str) -> None:
    # An empty or comment-only query makes asyncpg fail on the server's empty response.
    if split_statements(sql):
        await conn.execute(sql)


def _server_message(exc: asyncpg.PostgresError) -> str:
    """The server's primary message without the values it quotes, on one line.

    DETAIL quotes rows ("Failing row contains (...)", "Key (email)=(...)") and a
    data exception (a failed cast in ``ALTER ... USING``, an INSERT's bad value)
    quotes the value in its primary message; for a data migration those are
    production rows and their password hashes. The message, the SQLSTATE and the
    line locate the failure. ``exc`` travels on as the cause of the error
    raised, so it is scrubbed to the same text.
    """
    message = value_free_message(exc)
    columns = key_columns(exc)  # the key's columns, not its values
    if columns:
        message += f" (key columns: {columns})"
    message = " ".join(message.split())  # one line, whatever the server sent
    scrub(exc, message)
    return message


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


_RESET_ROLE = "RESET SESSION AUTHORIZATION; RESET ROLE"

_LEFT_TRANSACTION = (
    "it was caught after it ran: what it ran before leaving the transaction may have "
    "been committed; the version is not recorded"
)


async def _run_in_transaction(
    conn: asyncpg.Connection,
    scripts: Sequence[tuple[Path, str]],
    bookkeeping: tuple[str, Sequence[object]],
    owner: Path,
) -> None:
    """Run ``scripts`` and the bookkeeping statement in one transaction.

    Each script is checked for transaction control again right before it runs,
    read as the server will read it (an earlier script may have changed
    ``standard_conforming_strings``). The transaction id is compared after each
    script as well, so a file that still ends or replaces the transaction is
    never recorded.
    """
    index = -1
    try:
        async with conn.transaction():
            xid = await conn.fetchval("SELECT pg_catalog.txid_current()")
            for index, (path, sql) in enumerate(scripts):  # noqa: B007  # read in the handler
                _refuse_transaction_control(
                    path,
                    sql,
                    standard_strings=await _standard_strings(conn),
                    outside_transaction=False,
                )
                # A role one file took (SET ROLE, SET SESSION AUTHORIZATION) is
                # not the next file's: each starts as the runner's own user.
                await conn.execute(_RESET_ROLE)
                await _execute_script(conn, sql)
                if await conn.fetchval("SELECT pg_catalog.txid_current_if_assigned()") != xid:
                    raise TransactionControl(
                        path, line=None, statement=None, note=_LEFT_TRANSACTION
                    )
            index = -1
            await conn.execute(_RESET_ROLE)  # the ledger is written by the runner's user
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
    standard_strings = await _standard_strings(conn)
    _refuse_transaction_control(
        path, sql, standard_strings=standard_strings, outside_transaction=True
    )
    statements = split_statements(sql, standard_strings=standard_strings)
    for done, statement in enumerate(statements):
        try:
            await conn.execute(statement.text)
            if conn.is_in_transaction():  # checked before; this catches what the scanner missed
                await conn.execute("ROLLBACK")
                raise TransactionControl(
                    path,
                    line=statement.line,
                    statement=statement.text,
                    outside_transaction=True,
                    note="the version is not recorded",
                )
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


@dataclass(frozen=True)
class _Step:
    """One version to apply or revert, its files read and checked."""

    path: Path  # the up or down file
    sql: str
    outside_transaction: bool
    fixtures: tuple[tuple[Path, str], ...]
    bookkeeping: tuple[str, tuple[object, ...]]


def _checked(path: Path, *, standard_strings: bool, fixture: bool = False) -> tuple[str, bool]:
    """The file's text, and whether it runs outside a transaction.

    Raises:
        UndecodableFile: the file is not UTF-8.
        TransactionControl: the file holds a transaction-control statement; names
            the statement and its line.
    """
    sql = read_sql(path)
    outside = not fixture and runs_outside_transaction(sql)
    _refuse_transaction_control(
        path, sql, standard_strings=standard_strings, outside_transaction=outside
    )
    return sql, outside


def _up_step(migration: Migration, fixtures: Sequence[Path], standard_strings: bool) -> _Step:
    sql, outside = _checked(migration.up_path, standard_strings=standard_strings)
    return _Step(
        migration.up_path,
        sql,
        outside,
        tuple(
            (p, _checked(p, standard_strings=standard_strings, fixture=True)[0]) for p in fixtures
        ),
        (_INSERT, (migration.version, migration.name, migration.checksum)),
    )


def _down_step(migration: Migration, standard_strings: bool) -> _Step:
    sql, outside = _checked(migration.down_path, standard_strings=standard_strings)
    return _Step(migration.down_path, sql, outside, (), (_DELETE, (migration.version,)))


async def _run(dsn: str, directory: Path, step: _Step) -> None:
    async with _session(dsn, directory) as conn:
        if step.outside_transaction:
            await _run_outside_transaction(conn, step.path, step.sql)
            await _run_in_transaction(conn, step.fixtures, step.bookkeeping, step.path)
        else:
            await _run_in_transaction(
                conn, [(step.path, step.sql), *step.fixtures], step.bookkeeping, step.path
            )


def _check_version(directory: Path, version: int, migrations: Sequence[Migration]) -> None:
    if not 0 <= version <= len(migrations):
        raise InvalidTarget(
            directory, f"no migration {version:06d}; versions run from 0 to {len(migrations):06d}"
        )


async def _upward(
    conn: asyncpg.Connection,
    dsn: str,
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
    pending = [
        m for m in migrations if m.version not in done and (target is None or m.version <= target)
    ]
    # Every file is read and checked before the first version runs (and each
    # again on its own session, right before it runs).
    standard_strings = await _standard_strings(conn)
    steps = [_up_step(m, fixtures.get(m.version, []), standard_strings) for m in pending]
    for step in steps:
        await _run(dsn, directory, step)
    return [m.version for m in pending]


async def _downward(
    conn: asyncpg.Connection,
    dsn: str,
    directory: Path,
    migrations: Sequence[Migration],
    target: int,
) -> list[int]:
    by_version = {m.version: m for m in migrations}
    reverting: list[Migration] = []
    for row in reversed(await _applied(conn)):
        if row.version <= target:
            break
        migration = by_version.get(row.version)
        if migration is None:
            raise AppliedVersionMissing(directory, row.version, row.name)
        reverting.append(migration)
    standard_strings = await _standard_strings(conn)
    steps = [_down_step(m, standard_strings) for m in reverting]
    for step in steps:
        await _run(dsn, directory, step)
    return [m.version for m in reverting]


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
        return await _upward(conn, dsn, directory, migrations, by_fixture, target)


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
        return await _downward(conn, dsn, directory, migrations, target)


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
            return await _downward(conn, dsn, directory, migrations, version)
        return await _upward(conn, dsn, directory, migrations, {}, version)


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
