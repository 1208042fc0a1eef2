"""The purge worker: retention for audit logs and expired API keys.

The example background worker. It acts as its own narrow system identity
(``audit-purger``), runs one transaction per tick (``tx_id="purge_tick"``)
that first takes a transaction-scoped leader lock, so only one of several
instances works per tick, deletes in bounded batches, and records what it did
as one audit entry in the same transaction. A stop request (SIGTERM) is
honoured between batches: the batches done so far commit together with their
entry, and nothing is half-deleted.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from audit._auditors import Auditor, DatabaseAuditor
from audit._entry import AuditEntry
from authz import AUDIT_PURGER, as_audit_purger
from store import Store
from store.locks import register, try_acquire
from store.models import AuditAction

__all__ = ["PURGE_LOCK", "PurgeConfig", "PurgeResult", "PurgeWorker"]

PURGE_LOCK = register("audit.purge_worker")
_log = structlog.get_logger("txstore.purge")


@dataclass(frozen=True)
class PurgeConfig:
    """How much to keep and how hard to work per tick."""

    retention: datetime.timedelta = datetime.timedelta(days=90)
    batch_size: int = 1000
    max_batches: int = 100  # per table per tick, so one tick's transaction stays short
    interval: float = 60.0  # seconds between ticks


@dataclass(frozen=True)
class PurgeResult:
    """What one tick deleted; ``stopped`` when a stop request cut it short."""

    audit_logs: int
    api_keys: int
    batches: int
    stopped: bool


class PurgeWorker:
    """Deletes audit logs past retention and expired API keys, one tick at a time."""

    def __init__(
        self,
        store: Store,
        config: PurgeConfig | None = None,
        *,
        auditor: Auditor | None = None,
        clock: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self.store = store
        self.config = config or PurgeConfig()
        self.auditor = auditor or DatabaseAuditor()
        self._clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        """Ask the worker to stop after the batch in progress (safe from a signal handler)."""
        self.stopping.set()

    async def tick(self) -> PurgeResult | None:
        """Run one purge transaction; None when another instance holds the leader lock.

        Raises:
            store.errors.StoreError: the database failed; the tick rolled back whole.
        """
        now = self._clock()
        cutoff = now - self.config.retention
        with as_audit_purger():
            return await self.store.in_tx(
                lambda tx: self._purge(tx, now, cutoff), tx_id="purge_tick"
            )

    async def _purge(
        self, tx: Store, now: datetime.datetime, cutoff: datetime.datetime
    ) -> PurgeResult | None:
        if not await try_acquire(tx, PURGE_LOCK):
            _log.debug("purge tick skipped: another instance leads")
            return None
        size, batches = self.config.batch_size, 0
        deleted = {"audit_logs": 0, "api_keys": 0}
        steps: dict[str, Callable[[], Awaitable[int]]] = {
            "audit_logs": lambda: tx.delete_audit_logs_before(before=cutoff, batch_size=size),
            "api_keys": lambda: tx.delete_expired_api_keys(before=now, batch_size=size),
        }
        for table, step in steps.items():
            for _ in range(self.config.max_batches):
                if self.stopping.is_set():
                    break
                count = await step()
                deleted[table] += count
                batches += 1
                if count < size:
                    break
        result = PurgeResult(
            deleted["audit_logs"], deleted["api_keys"], batches, self.stopping.is_set()
        )
        if result.audit_logs or result.api_keys:
            await self.auditor.record(tx, self._entry(now, cutoff, result))
        _log.info(
            "purge tick",
            audit_logs=result.audit_logs,
            api_keys=result.api_keys,
            batches=batches,
            stopped=result.stopped,
        )
        return result

    def _entry(
        self, now: datetime.datetime, cutoff: datetime.datetime, result: PurgeResult
    ) -> AuditEntry:
        return AuditEntry(
            id=uuid.uuid4(),
            time=now,
            actor_id=AUDIT_PURGER.id,
            organization_id=None,
            resource_type="retention",
            resource_id="purge_worker",
            resource_target=f"before {cutoff.isoformat()}",
            action=AuditAction.DELETE,
            diff={},
            query="purge_tick",
            additional_fields={
                "audit_logs_deleted": result.audit_logs,
                "api_keys_deleted": result.api_keys,
                "cutoff": cutoff.isoformat(),
                "stopped_early": result.stopped,
            },
        )

    async def run(self) -> None:
        """Tick every ``interval`` seconds until :meth:`stop`; errors are logged, not fatal."""
        while not self.stopping.is_set():
            try:
                await self.tick()
            except Exception:
                _log.exception("purge tick failed")
            try:
                await asyncio.wait_for(self.stopping.wait(), self.config.interval)
            except TimeoutError:
                continue
