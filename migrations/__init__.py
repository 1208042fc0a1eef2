"""Versioned SQL migrations for PostgreSQL: apply, revert, inspect and author them."""

from migrations._authoring import create, create_fixture
from migrations._dump import check_schema_dump, dump_schema
from migrations._files import NO_TRANSACTION_MARKER, Migration, load
from migrations._lock import LOCK_KEY
from migrations._renumber import renumber
from migrations._runner import TABLE, AppliedMigration, Status, down, goto, status, up
from migrations.errors import (
    AppliedVersionMissing,
    ChecksumMismatch,
    DatabaseUnreachable,
    DuplicateVersion,
    FixtureError,
    InvalidTarget,
    MalformedDsn,
    MalformedFileName,
    MigrationError,
    MigrationFailed,
    MigrationLockTimeout,
    MissingDownFile,
    MissingUpFile,
    OutOfOrder,
    RenumberError,
    SchemaDumpError,
    SchemaDumpStale,
    TransactionControl,
    UndecodableFile,
    VersionGap,
)

__all__ = [
    "LOCK_KEY",
    "NO_TRANSACTION_MARKER",
    "TABLE",
    "AppliedMigration",
    "AppliedVersionMissing",
    "ChecksumMismatch",
    "DatabaseUnreachable",
    "DuplicateVersion",
    "FixtureError",
    "InvalidTarget",
    "MalformedDsn",
    "MalformedFileName",
    "Migration",
    "MigrationError",
    "MigrationFailed",
    "MigrationLockTimeout",
    "MissingDownFile",
    "MissingUpFile",
    "OutOfOrder",
    "RenumberError",
    "SchemaDumpError",
    "SchemaDumpStale",
    "Status",
    "TransactionControl",
    "UndecodableFile",
    "VersionGap",
    "check_schema_dump",
    "create",
    "create_fixture",
    "down",
    "dump_schema",
    "goto",
    "load",
    "renumber",
    "status",
    "up",
]
