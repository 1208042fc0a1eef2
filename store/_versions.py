"""Which PostgreSQL the store talks to, and what that version lets it do.

txstore supports PostgreSQL 15 to 18. Code that can do better on a newer
server asks :class:`ServerVersion` instead of comparing numbers itself, so
every version-dependent path is named once here and tested on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

__all__ = ["MIN_SUPPORTED", "ServerVersion"]

#: The oldest major version the test suite runs on.
MIN_SUPPORTED = 15


@dataclass(frozen=True, slots=True, order=True)
class ServerVersion:
    """A server's version, e.g. ``ServerVersion(18, 1)``, and its capabilities."""

    major: int
    minor: int

    @classmethod
    def of(cls, conn: asyncpg.Connection) -> ServerVersion:
        """The version ``conn``'s server reported when it connected (no round trip)."""
        info = conn.get_server_version()
        return cls(info.major, info.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def returning_old_new(self) -> bool:
        """``RETURNING old.col, new.col`` in INSERT/UPDATE/DELETE/MERGE (PostgreSQL 18):
        the row before and after a write in one statement, no locking read first."""
        return self.major >= 18

    @property
    def file_copy_clone(self) -> bool:
        """``file_copy_method = clone`` for ``CREATE DATABASE ... STRATEGY FILE_COPY``
        (PostgreSQL 18): template files cloned rather than copied byte by byte."""
        return self.major >= 18
