"""Every error the authorization layer raises.

This module imports no sibling module. :class:`NotAuthorized` is a
:class:`store.errors.NotFound`, so an API that answers 404 for a missing row
answers the same for a row the subject may not see, and a denied caller cannot
tell the two apart. Programming mistakes (no subject bound, a query without a
policy, an unknown role) are separate from denials.
"""

from __future__ import annotations

from collections.abc import Sequence

from store.errors import DatabaseError, NotFound

__all__ = [
    "AuthzError",
    "NoSubject",
    "NotAuthorized",
    "PolicyError",
    "QueryRefused",
    "UnknownIdentity",
    "UnknownRole",
]


class AuthzError(Exception):
    """Base of the authorization layer's misuse errors (never a denial)."""


class NoSubject(AuthzError):
    """A store call ran with no acting subject bound.

    Bind one with ``with authz.as_subject(subject):`` or, for a system
    identity of the model, ``with authz.as_system(identity):``.
    """

    def __init__(self, method: str) -> None:
        super().__init__(
            f"cannot run {method}: no subject; wrap the call in authz.as_subject(...) "
            "or authz.as_system(identity)"
        )
        self.method = method


class PolicyError(AuthzError):
    """The policy table does not match the queries: a method has no policy, a
    policy names a query that no longer exists, or a policy cannot apply to its
    query. ``problems`` holds one message per defect, each naming the file to edit.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("authorization policy table is incomplete:\n  " + "\n  ".join(problems))
        self.problems = tuple(problems)


class UnknownRole(AuthzError, ValueError):
    """A subject named a role that is not defined."""


class UnknownIdentity(AuthzError, LookupError):
    """A system identity that the model does not declare."""


class NotAuthorized(NotFound):
    """The acting subject may not do ``action`` on an object of ``object_type``.

    Raised for a denied read of one row and for every denied write. It carries
    no column of the row; the denial itself is logged with the subject and the
    object's id.
    """

    def __init__(self, query: str, action: str, object_type: str) -> None:
        DatabaseError.__init__(self, f"{query}: not authorized to {action} {object_type}")
        self.query = query
        self.action = action
        self.object_type = object_type


class QueryRefused(AuthzError, NotAuthorized):
    """A call the layer refuses before running anything, whoever the subject.

    The query names no declared query, the ``Query`` object differs from the
    declared one in some field (a hand-built object with relabelled
    parameters, another decoder, other SQL or kind), or the primitive called
    does not run queries of its kind (an ``:one`` write through ``execute``).
    The layer decides only from the declared query, so it cannot decide these.
    It is a misuse error and a denial alike: a :class:`NotAuthorized` (so no
    caller mistakes it for success) and logged as ``authorization denied``.
    """

    def __init__(self, query: str, primitive: str, reason: str) -> None:
        DatabaseError.__init__(self, f"cannot run {query} through {primitive}: {reason}")
        self.query = query
        self.action = "run"
        self.object_type = "query"
        self.primitive = primitive
        self.reason = reason
