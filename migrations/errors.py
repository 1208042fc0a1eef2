"""Every error the migrations package raises.

This module imports no sibling module. Each message names the file to look at
(and, for a failing statement, its line and the server's message), so a one-line
report on stderr is enough to act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AppliedVersionMissing",
    "ChecksumMismatch",
    "DatabaseUnreachable",
    "DuplicateVersion",
    "FixtureError",
    "InvalidTarget",
    "MalformedDsn",
    "MalformedFileName",
    "MigrationError",
    "MigrationFailed",
    "MigrationLockTimeout",
    "MissingDownFile",
    "MissingUpFile",
    "OutOfOrder",
    "RenumberError",
    "SchemaDumpError",
    "SchemaDumpStale",
    "TransactionControl",
    "UndecodableFile",
    "VersionGap",
]


class MigrationError(Exception):
    """Base of every error raised by the migrations package."""


# -- the migrations directory ---------------------------------------------------------


class MalformedFileName(MigrationError):
    """A ``.sql`` file whose name does not follow the expected pattern."""

    def __init__(self, path: Path, expected: str) -> None:
        self.path = path
        super().__init__(f"{path}: malformed file name; expected {expected}")


class DuplicateVersion(MigrationError):
    """Two migrations share a version number."""

    def __init__(self, version: int, paths: Sequence[Path]) -> None:
        self.version = version
        self.paths = tuple(paths)
        names = ", ".join(str(p) for p in paths)
        super().__init__(
            f"{names}: duplicate migration number {version:06d}; "
            "renumber one of them (`txstore migrate renumber` after a merge)"
        )


class MissingDownFile(MigrationError):
    """An ``.up.sql`` file has no matching ``.down.sql`` file."""

    def __init__(self, up_path: Path, down_path: Path) -> None:
        self.path = up_path
        self.expected = down_path
        super().__init__(f"{up_path}: missing down file; create {down_path}")


class MissingUpFile(MigrationError):
    """A ``.down.sql`` file has no matching ``.up.sql`` file."""

    def __init__(self, down_path: Path, up_path: Path) -> None:
        self.path = down_path
        self.expected = up_path
        super().__init__(f"{down_path}: missing up file; create {up_path}")


class VersionGap(MigrationError):
    """Migration numbers skip a version."""

    def __init__(self, path: Path, expected: int) -> None:
        self.path = path
        self.expected = expected
        super().__init__(f"{path}: gap in migration numbering; expected number {expected:06d} here")


class UndecodableFile(MigrationError):
    """A file txstore reads (migration, fixture, schema dump) is not valid UTF-8.

    ``offset`` is the 0-based byte offset of the first invalid byte, ``line`` its
    1-based line.
    """

    def __init__(self, path: Path, offset: int, line: int, byte: int) -> None:
        self.path = path
        self.offset = offset
        self.line = line
        super().__init__(
            f"{path}:{line}: not valid UTF-8 (byte 0x{byte:02x} at offset {offset}); "
            "save the file as UTF-8"
        )


class TransactionControl(MigrationError):
    """A migration or fixture file holds a statement that controls the transaction.

    The runner owns each version's transaction (it begins it, records the version
    and commits), so ``BEGIN``, ``COMMIT``, ``END``, ``ROLLBACK``, ``ABORT``,
    ``SAVEPOINT``, ``RELEASE`` and ``PREPARE TRANSACTION`` are refused before the
    version runs. ``line`` and ``statement`` are None when the file was caught
    leaving its transaction while it ran rather than by reading it.
    """

    def __init__(
        self,
        path: Path,
        *,
        line: int | None,
        statement: str | None,
        outside_transaction: bool = False,
        note: str = "",
    ) -> None:
        self.path = path
        self.line = line
        self.statement = statement
        where = f"{path}:{line}" if line is not None else str(path)
        what = (
            f"statement {_snippet(statement)} controls the transaction"
            if statement
            else "the file ended or replaced the transaction it runs in"
        )
        if outside_transaction:
            why = (
                "a -- txstore:no-transaction file runs each statement on its own, "
                "outside any transaction; remove it"
            )
        else:
            why = (
                "the runner runs each version (with its fixtures) in one transaction "
                "and commits it itself; remove it (statements that cannot run in a "
                "transaction go in a migration whose first line is -- txstore:no-transaction)"
            )
        tail = f"; {note}" if note else ""
        super().__init__(f"{where}: {what}: {why}{tail}")


# -- the directory against the database ------------------------------------------------


class ChecksumMismatch(MigrationError):
    """An already applied up file was edited after it ran."""

    def __init__(self, path: Path, version: int, recorded: str, actual: str) -> None:
        self.path = path
        self.version = version
        self.recorded = recorded
        self.actual = actual
        super().__init__(
            f"{path}: changed after it was applied (recorded sha256 {recorded[:12]}..., "
            f"file now {actual[:12]}...); restore the file and add a new migration instead"
        )


class OutOfOrder(MigrationError):
    """A migration is pending although a higher version is already applied."""

    def __init__(self, path: Path, version: int, highest_applied: int) -> None:
        self.path = path
        self.version = version
        self.highest_applied = highest_applied
        super().__init__(
            f"{path}: not applied, but the database is already at {highest_applied:06d}; "
            "renumber it after the applied migrations (`txstore migrate renumber`)"
        )


class AppliedVersionMissing(MigrationError):
    """The database records a version that has no file in the directory."""

    def __init__(self, directory: Path, version: int, name: str) -> None:
        self.directory = directory
        self.version = version
        self.name = name
        super().__init__(
            f"{directory}: version {version:06d} ({name}) is applied in the database "
            "but has no file here; is this checkout older than the database?"
        )


class InvalidTarget(MigrationError):
    """A target version or step count that the directory cannot reach."""

    def __init__(self, directory: Path, message: str) -> None:
        self.directory = directory
        super().__init__(f"{directory}: {message}")


class FixtureError(MigrationError):
    """A fixture file that belongs to no migration, or an unusable fixtures directory."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


# -- running ---------------------------------------------------------------------------


class MigrationFailed(MigrationError):
    """A statement of a migration or fixture file failed; nothing of that version was kept.

    ``line`` is the 1-based line of the failing statement in ``path`` (None when it
    could not be located); ``sqlstate`` and ``server_message`` are what PostgreSQL said.
    """

    def __init__(
        self,
        path: Path,
        *,
        line: int | None,
        statement: str | None,
        server_message: str,
        sqlstate: str | None,
        note: str = "",
    ) -> None:
        self.path = path
        self.line = line
        self.statement = statement
        self.server_message = server_message
        self.sqlstate = sqlstate
        where = f"{path}:{line}" if line is not None else str(path)
        what = f"statement {_snippet(statement)} failed" if statement else "failed"
        code = f" [{sqlstate}]" if sqlstate else ""
        tail = f"; {note}" if note else ""
        super().__init__(f"{where}: {what}: {server_message}{code}{tail}")


class MigrationLockTimeout(MigrationError):
    """Another session held the migrations advisory lock for longer than ``lock_timeout``."""

    def __init__(self, directory: Path, timeout: float, holder: str) -> None:
        self.directory = directory
        self.timeout = timeout
        self.holder = holder
        super().__init__(
            f"{directory}: could not take the migrations lock within {timeout:g}s; "
            f"it is held by {holder}"
        )


class MalformedDsn(MigrationError, ValueError):
    """A DSN that is neither a ``postgresql://`` URL nor a libpq keyword string.

    ``shown`` is the DSN with its password masked, ``reason`` what is wrong;
    neither carries the password.
    """

    def __init__(self, shown: str, reason: str) -> None:
        self.shown = shown
        self.reason = reason
        super().__init__(f"malformed DSN {shown}: {reason}")


class DatabaseUnreachable(MigrationError):
    """The database could not be connected to."""

    def __init__(self, directory: Path, message: str) -> None:
        self.directory = directory
        super().__init__(f"{directory}: cannot connect to the database: {message}")


# -- tooling ---------------------------------------------------------------------------


class RenumberError(MigrationError):
    """Renumbering after a merge could not decide what to move."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class SchemaDumpError(MigrationError):
    """``pg_dump`` could not be run or failed."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: schema dump failed: {message}")


class SchemaDumpStale(MigrationError):
    """The committed schema dump differs from the migrated database."""

    def __init__(self, path: Path, diff: str) -> None:
        self.path = path
        self.diff = diff
        super().__init__(f"{path}: schema dump is stale; run `txstore migrate dump` and commit it")


def _snippet(statement: str, limit: int = 80) -> str:
    flat = " ".join(statement.split())
    if len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return f'"{flat}"'
