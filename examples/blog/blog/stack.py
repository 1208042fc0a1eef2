"""How the blog connects: the full stack (audit → authz → metrics → PostgreSQL), typed."""

from __future__ import annotations

from typing import Any

from audit import connect_stack

from blog import db
from blog.auditing import AUDIT
from blog.policies import MODEL

__all__ = ["connect"]


async def connect(dsn: str, **options: Any) -> db.Queries:
    """The blog's queries over the full stack; ``options`` go to ``store.connect``.

    Close it with ``await queries.store.close()``.

    Raises:
        store.errors.DatabaseUnavailable: the server cannot be reached.
        authz.errors.PolicyError, audit.errors.AuditConfigError: the model or
            the audit configuration is incomplete.
    """
    options.setdefault("constraints", db.CONSTRAINTS)
    return db.Queries(await connect_stack(dsn, authz=MODEL, audit=AUDIT, **options))
