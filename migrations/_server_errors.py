"""Server error text without the values it quotes, shared by the runner and the store.

PostgreSQL quotes row and argument values in DETAIL (``Failing row contains
(...)``, ``Key (email)=(...)``), HINT and CONTEXT, and a data exception
(SQLSTATE class 22) quotes the offending value in its primary message
(``invalid input syntax for type integer: "..."``). For a data migration those
are production rows; for the store, a caller's password hash. This module
lives in migrations/ because the migrations runner may not import the store;
the store imports it from here.
"""

from __future__ import annotations

import re

import asyncpg

__all__ = ["KEY_COLUMNS", "condition", "key_columns", "scrub", "value_free_message"]

#: The key columns of a unique or foreign-key DETAIL: ``Key (a, lower(b))=(...)``.
KEY_COLUMNS = re.compile(r"^Key \((.+?)\)=\(")
#: Server fields that may quote row or argument values.
_VALUE_FIELDS = ("detail", "hint", "context")


def key_columns(exc: asyncpg.PostgresError) -> str | None:
    """The columns of the violated key as DETAIL names them, never the key's values."""
    detail = getattr(exc, "detail", None)
    found = KEY_COLUMNS.match(detail) if isinstance(detail, str) else None
    return found.group(1) if found else None


def value_free_message(exc: asyncpg.PostgresError, primary: str | None = None) -> str:
    """The server's primary message, cut before the value a data exception quotes.

    PostgreSQL writes data exceptions as ``description: "value"`` (or quotes the
    value in place): the text before the first colon is kept when it quotes
    nothing, the whole message when it has no quote or colon, else the
    condition name (:func:`condition`). Other classes are returned whole: their
    primary message names objects, not values.
    """
    if primary is None:
        primary = str(getattr(exc, "message", None) or (exc.args[0] if exc.args else exc))
    if not (getattr(exc, "sqlstate", None) or "").startswith("22"):
        return primary
    head = primary.partition(":")[0]
    if ":" in primary and not any(q in head for q in "\"'"):
        return head
    if not any(c in primary for c in "\"':"):
        return primary
    return condition(exc)


def condition(exc: asyncpg.PostgresError) -> str:
    """``InvalidTextRepresentationError`` -> ``invalid text representation``."""
    name = type(exc).__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def scrub(exc: asyncpg.PostgresError, text: str) -> None:
    """Make the driver's exception say only ``text``: it travels on as a cause.

    Its DETAIL, HINT and CONTEXT are dropped, and its own cause and context
    (a codec's error, which may quote the value) cut off.
    """
    exc.args = (text,)
    if getattr(exc, "message", None) is not None:
        exc.message = text  # the server's primary message, kept apart by asyncpg
    for field in _VALUE_FIELDS:
        if getattr(exc, field, None) is not None:
            setattr(exc, field, None)
    exc.__cause__ = None
    exc.__context__ = None
