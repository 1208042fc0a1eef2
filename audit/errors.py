"""Every error the audit layer raises.

This module imports no sibling module. Configuration errors (an incomplete or
stale classification or declaration table) are raised when an
:class:`~audit.AuditStore` is built; the others are raised while a mutation is
being audited, inside its transaction, so the change rolls back with them.
"""

from __future__ import annotations

from collections.abc import Sequence

from authz.errors import NoSubject

__all__ = [
    "AuditConfigError",
    "AuditError",
    "MissingActor",
    "NoSingleStatement",
    "NotAuditable",
    "QueryRefused",
    "UnclassifiedField",
    "UndeclaredMutation",
]


class AuditError(Exception):
    """Base of every audit error."""


class AuditConfigError(AuditError):
    """The classification table or the mutation declarations are incomplete or stale.

    ``problems`` holds one ``"file:line: message"`` line per problem, each naming
    the file and entry to edit.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        listing = "\n  ".join(self.problems)
        super().__init__(f"audit configuration has {len(self.problems)} problem(s):\n  {listing}")


class NotAuditable(AuditError):
    """A model that has no entry in the classification table was diffed."""


class UnclassifiedField(AuditError):
    """A model field has no classification; it is neither recorded nor silently dropped."""


class UndeclaredMutation(AuditError):
    """A query writing an auditable table has no audit declaration (deny by default)."""


class MissingActor(AuditError, NoSubject):
    """An audited mutation ran with no acting subject to record.

    Also an :class:`authz.errors.NoSubject`: a call with no subject fails the
    same way whichever layer notices first, whether the audit layer needs the
    actor for its single statement or the authorization layer checks it.
    """

    def __init__(self, method: str) -> None:
        NoSubject.__init__(self, method)


class QueryRefused(AuditError):
    """A call refused before anything runs, so no change can escape its entry.

    The query names no declared query, the ``Query`` object differs from the
    declared one in some field (the layer audits only what was declared, never
    a hand-built object), or the primitive called does not run queries of its
    kind (an audited ``:one`` mutation writes its entry only through
    ``fetch_one``). The message names the query, the primitive and the reason.
    """

    def __init__(self, query: str, primitive: str, reason: str) -> None:
        super().__init__(f"cannot run {query} through {primitive}: {reason}")
        self.query = query
        self.primitive = primitive
        self.reason = reason


class NoSingleStatement(AuditError):
    """A mutation, field type or sink the single-statement form cannot express.

    ``AuditStore`` does not raise it: it keeps the transaction form for that
    query and logs why (a debug event), or refuses a bulk declaration at
    construction (``AuditConfigError``). ``audit.diff_sql`` raises it.
    """
