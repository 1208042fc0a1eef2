"""The layer stack, built by one function: audit → authz → metrics → Postgres."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit._auditors import Auditor
from audit._config import Config
from audit._store import AuditStore
from authz import AuthzStore, Model
from store import Store, connect

if TYPE_CHECKING:  # prometheus_client is an optional extra
    from store.metrics import StoreMetrics

__all__ = ["connect_stack"]


async def connect_stack(
    dsn: str,
    *,
    authz: Model,
    audit: Config,
    auditor: Auditor | None = None,
    metrics: StoreMetrics | None = None,
    **options: Any,
) -> AuditStore:
    """Connect to ``dsn`` and wrap the store in the application's layers.

    ``authz`` is the application's authorization model, ``audit`` its audit
    configuration (``auditor`` overrides the config's sink). ``metrics`` is a
    ``store.metrics.StoreMetrics`` (the ``txstore[metrics]`` extra); without it
    the metrics layer is left out. ``options`` go to ``store.connect`` (pool
    sizes, timeouts, ``constraints``, ``poison_mode``...). The returned store's
    ``close()`` closes the pool; wrap it in the application's generated
    ``Queries`` for typed methods. The audit layer's single statements are
    derived for the server's version (``RETURNING OLD`` on PostgreSQL 18).

    Raises:
        store.errors.DatabaseUnavailable: the server cannot be reached.
        audit.errors.AuditConfigError: the audit table or declarations are
            incomplete or stale.
    """
    pg = await connect(dsn, **options)
    try:
        inner: Store = pg
        if metrics is not None:
            from store.metrics import MetricsStore

            inner = MetricsStore(pg, metrics)
        # The single statements take the shape this server runs best (RETURNING OLD
        # on 18), asked once from a pooled connection's start-up message, when first
        # needed: connecting does not need the server up.
        return AuditStore(AuthzStore(inner, authz), audit, auditor, server=pg.server_version)
    except BaseException:
        await pg.close()
        raise
