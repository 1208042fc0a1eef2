"""The application's layers over a test's store: what ``workspaces.stack`` builds, piecewise."""

from __future__ import annotations

from audit import Audited, Auditor, AuditStore, Config, DatabaseAuditor, Unaudited
from authz import AuthzStore
from store import Store

from workspaces.auditing import AUDIT, MUTATIONS
from workspaces.db import Queries
from workspaces.policies import MODEL


def raw(s: Store | Queries) -> Store:
    """The store under a ``Queries`` (or ``s`` itself)."""
    return s.store if isinstance(s, Queries) else s


def with_authz(s: Store | Queries) -> Queries:
    """``s`` behind the application's authorization model."""
    return Queries(AuthzStore(raw(s), MODEL))


#: The application's upserts (INSERT ... ON CONFLICT DO UPDATE): audited in one statement only.
UPSERTS = frozenset({"upsert_organization_member"})

#: The application's configuration with its bulk mutations and upserts unaudited: a
#: sink that is not a table (a log, a failing test auditor) cannot take one entry per
#: row in the statement, and AuditStore refuses declarations it cannot honour.
PER_CALL_ONLY = Config(
    queries=AUDIT.queries,
    table=AUDIT.table,
    not_audited=AUDIT.not_audited,
    mutations={
        name: (
            Unaudited("bulk or upsert: needs a table sink")
            if isinstance(d, Audited) and (AUDIT.queries[name].kind != "one" or name in UPSERTS)
            else d
        )
        for name, d in MUTATIONS.items()
    },
    resources=AUDIT.resources,
    auditor=AUDIT.auditor,
    create=AUDIT.create,
    delete=AUDIT.delete,
    source=AUDIT.source,
)


def with_audit(s: Store | Queries, auditor: Auditor | None = None) -> Queries:
    """``s`` behind the application's audit configuration (``auditor`` overrides its sink;
    a sink that is not a table gets :data:`PER_CALL_ONLY`)."""
    config = AUDIT if auditor is None or isinstance(auditor, DatabaseAuditor) else PER_CALL_ONLY
    return Queries(AuditStore(raw(s), config, auditor))
