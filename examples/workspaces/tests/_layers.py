"""The application's layers over a test's store: what ``workspaces.stack`` builds, piecewise."""

from __future__ import annotations

from audit import Auditor, AuditStore
from authz import AuthzStore
from store import Store

from workspaces.auditing import AUDIT
from workspaces.db import Queries
from workspaces.policies import MODEL


def raw(s: Store | Queries) -> Store:
    """The store under a ``Queries`` (or ``s`` itself)."""
    return s.store if isinstance(s, Queries) else s


def with_authz(s: Store | Queries) -> Queries:
    """``s`` behind the application's authorization model."""
    return Queries(AuthzStore(raw(s), MODEL))


def with_audit(s: Store | Queries, auditor: Auditor | None = None) -> Queries:
    """``s`` behind the application's audit configuration (``auditor`` overrides its sink)."""
    return Queries(AuditStore(raw(s), AUDIT, auditor))
