"""The default layer stack, built by one function: audit → authz → metrics → Postgres."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit._auditors import Auditor
from audit._store import AuditStore
from authz import AuthzStore
from store import Store, connect

if TYPE_CHECKING:  # prometheus_client is an optional extra
    from store.metrics import StoreMetrics

__all__ = ["connect_stack"]


async def connect_stack(
    dsn: str,
    *,
    auditor: Auditor | None = None,
    metrics: StoreMetrics | None = None,
    **options: Any,
) -> AuditStore:
    """Connect to ``dsn`` and wrap the store in the default layers.

    ``metrics`` is a ``store.metrics.StoreMetrics`` (the ``txstore[metrics]``
    extra); without it the metrics layer is left out. ``options`` go to
    ``store.connect`` (pool sizes, timeouts, ``poison_mode``...). The
    returned store's ``close()`` closes the pool.

    Raises:
        store.errors.DatabaseUnavailable: the server cannot be reached.
        authz.errors.PolicyError, audit.errors.AuditConfigError: a query has no
            policy or a mutation no audit declaration.
    """
    pg = await connect(dsn, **options)
    try:
        inner: Store = pg
        if metrics is not None:
            from store.metrics import MetricsStore

            inner = MetricsStore(pg, metrics)
        return AuditStore(AuthzStore(inner), auditor)
    except BaseException:
        await pg.close()
        raise
