"""The purge worker: retention deletes of the application's tables.

A background worker for the targets the application names (its audit log past
retention, expired credentials...). It acts as the system identity the
application gives it, runs one transaction per tick (``tx_id="purge_tick"``)
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog

from audit._auditors import Auditor
from audit._entry import AuditEntry
from authz import SystemIdentity, as_system
from store import Kind, Query, Store
from store.locks import register, try_acquire

__all__ = ["PURGE_LOCK", "PurgeConfig", "PurgeResult", "PurgeTarget", "PurgeWorker"]

PURGE_LOCK = register("audit.purge_worker")
_log = structlog.get_logger("txstore.purge")
_PARAMS = ("before", "batch_size")


@dataclass(frozen=True)
class PurgeTarget:
    """One table to purge: an ``:execrows`` query of the application and how far back to keep.

    ``query`` takes parameters named ``before`` (a timestamp: rows older go)
    and ``batch_size`` (how many rows at most per statement) and returns the
    count deleted. ``retention`` None deletes everything before now (expired
    rows); otherwise before now minus ``retention``.
    """

    name: str
    query: Query[None]
    retention: datetime.timedelta | None = None

    def __post_init__(self) -> None:
        if self.query.kind is not Kind.EXECROWS or tuple(
            sorted(p.name for p in self.query.params)
        ) != tuple(sorted(_PARAMS)):
            raise ValueError(
                f"purge target {self.name!r}: {self.query.name} ({self.query.source}) must be "
                ":execrows with parameters named before and batch_size"
            )

    def args(self, before: datetime.datetime, batch_size: int) -> tuple[object, ...]:
        """The query's arguments in parameter order."""
        values = {"before": before, "batch_size": batch_size}
        return tuple(values[p.name] for p in self.query.params)


@dataclass(frozen=True)
class PurgeConfig:
    """How hard to work per tick."""

    batch_size: int = 1000
    max_batches: int = 100  # per target per tick, so one tick's transaction stays short
    interval: float = 60.0  # seconds between ticks


@dataclass(frozen=True)
class PurgeResult:
    """What one tick deleted, by target name; ``stopped`` when a stop request cut it short."""

    deleted: Mapping[str, int]
    batches: int
    stopped: bool


class PurgeWorker:
    """Deletes what the application's targets name, one tick at a time.

    ``store`` is the application's stack (its authorization must let
    ``identity`` run the targets' queries and take the purge lock);
    ``auditor`` records one entry per tick that deleted something, with
    ``action`` (the application's delete action) and ``resource_type``
    ``"retention"``.
    """

    def __init__(
        self,
        store: Store,
        targets: Sequence[PurgeTarget],
        *,
        identity: SystemIdentity,
        auditor: Auditor,
        config: PurgeConfig | None = None,
        action: str = "delete",
        clock: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        """Raises ValueError when two targets share a name or there is none."""
        names = [t.name for t in targets]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"purge targets need distinct names, got {names}")
        self.store = store
        self.targets = tuple(targets)
        self.identity = identity
        self.auditor = auditor
        self.config = config or PurgeConfig()
        self.action = action
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
        with as_system(self.identity):
            return await self.store.in_tx(lambda tx: self._purge(tx, now), tx_id="purge_tick")

    def _cutoff(self, target: PurgeTarget, now: datetime.datetime) -> datetime.datetime:
        return now if target.retention is None else now - target.retention

    async def _purge(self, tx: Store, now: datetime.datetime) -> PurgeResult | None:
        if not await try_acquire(tx, PURGE_LOCK):
            _log.debug("purge tick skipped: another instance leads")
            return None
        size, batches = self.config.batch_size, 0
        deleted = dict.fromkeys((t.name for t in self.targets), 0)
        for target in self.targets:
            args = target.args(self._cutoff(target, now), size)
            for _ in range(self.config.max_batches):
                if self.stopping.is_set():
                    break
                count = await tx.execute_rows(target.query, args)
                deleted[target.name] += count
                batches += 1
                if count < size:
                    break
        result = PurgeResult(deleted, batches, self.stopping.is_set())
        if any(deleted.values()):
            await self.auditor.record(tx, self._entry(now, result))
        _log.info("purge tick", **deleted, batches=batches, stopped=result.stopped)
        return result

    def _entry(self, now: datetime.datetime, result: PurgeResult) -> AuditEntry:
        cutoffs = {t.name: self._cutoff(t, now).isoformat() for t in self.targets}
        return AuditEntry(
            id=uuid.uuid4(),
            time=now,
            actor_id=self.identity.id,
            org_id=None,
            resource_type="retention",
            resource_id="purge_worker",
            resource_target=", ".join(f"{n} before {c}" for n, c in cutoffs.items()),
            action=self.action,
            diff={},
            query="purge_tick",
            additional_fields={
                **{f"{name}_deleted": count for name, count in result.deleted.items()},
                "cutoffs": dict(cutoffs),
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
