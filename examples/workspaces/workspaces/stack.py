"""How the reference application connects: its layers, its constraints, its workers."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit import Auditor, PurgeConfig, PurgeTarget, PurgeWorker, connect_stack
from store import Store

from workspaces import db
from workspaces.auditing import AUDIT
from workspaces.policies import AUDIT_PURGER, MODEL

if TYPE_CHECKING:  # prometheus_client is an optional extra
    from store.metrics import StoreMetrics

__all__ = ["MIGRATIONS", "PURGE_TARGETS", "connect", "purge_worker"]

#: The application's migrations (``[tool.txstore] migrations``).
MIGRATIONS = Path(__file__).resolve().parent.parent / "db" / "migrations"

#: What the purge worker deletes: audit entries past retention, API keys past expiry.
PURGE_TARGETS = (
    PurgeTarget("audit_logs", db.DELETE_AUDIT_LOGS_BEFORE, datetime.timedelta(days=90)),
    PurgeTarget("api_keys", db.DELETE_EXPIRED_API_KEYS),
)


async def connect(dsn: str, *, metrics: StoreMetrics | None = None, **options: Any) -> db.Queries:
    """The full stack (audit → authz → metrics → PostgreSQL) with typed methods.

    ``options`` go to ``store.connect`` (pool sizes, timeouts). Close it with
    ``await queries.store.close()``.

    Raises:
        store.errors.DatabaseUnavailable: the server cannot be reached.
    """
    options.setdefault("constraints", db.CONSTRAINTS)
    return db.Queries(
        await connect_stack(dsn, authz=MODEL, audit=AUDIT, metrics=metrics, **options)
    )


def purge_worker(
    store: Store,
    config: PurgeConfig | None = None,
    *,
    auditor: Auditor | None = None,
    clock: Callable[[], datetime.datetime] | None = None,
) -> PurgeWorker:
    """The purge worker over ``store`` (the full stack), as the audit-purger identity.

    ``auditor`` overrides where its entry goes (``AUDIT.auditor``); ``clock``
    replaces the wall clock. Raises nothing.
    """
    return PurgeWorker(
        store,
        PURGE_TARGETS,
        identity=AUDIT_PURGER,
        auditor=AUDIT.auditor if auditor is None else auditor,
        config=config,
        action=db.AuditAction.DELETE,
        clock=clock,
    )
