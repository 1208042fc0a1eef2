"""Auditors: where an entry goes. The database (default), structlog, or several."""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from audit._entry import AuditEntry
from authz import as_system_restricted
from store import Store

__all__ = ["Auditor", "DatabaseAuditor", "LogAuditor", "combine"]


class Auditor(Protocol):
    """Records one entry, inside the transaction of the change it describes.

    ``tx`` is the handle of that transaction: a write through it commits or
    rolls back with the change, and an exception raised here rolls the change
    back.
    """

    async def record(self, tx: Store, entry: AuditEntry) -> None: ...


class DatabaseAuditor:
    """Writes each entry to ``audit_logs`` through the change's own transaction.

    The row is inserted as the system-restricted identity: the acting user may
    be allowed to change a resource without being allowed to write audit rows.
    """

    __slots__ = ()

    async def record(self, tx: Store, entry: AuditEntry) -> None:
        """Insert the entry with ``insert_audit_log``.

        Raises:
            store.errors.DatabaseError: the insert failed; the change rolls back.
        """
        with as_system_restricted():
            await tx.insert_audit_log(
                id=entry.id,
                time=entry.time,
                user_id=entry.actor_id,
                organization_id=entry.organization_id,
                ip=entry.request.ip,
                user_agent=entry.request.user_agent,
                request_id=entry.request.request_id,
                resource_type=entry.resource_type,
                resource_id=entry.resource_id,
                resource_target=entry.resource_target,
                action=entry.action,
                diff=entry.diff_json(),
                status_code=entry.status_code,
                additional_fields=dict(entry.additional_fields),
            )


class LogAuditor:
    """Emits each entry as a structlog event (``"audit"`` on ``txstore.audit``).

    The event is emitted when the entry is recorded, before the transaction
    commits: a transaction that later rolls back (or is retried) has logged
    its entry anyway. Use the database auditor for the record of truth.
    """

    __slots__ = ("_event", "_log")

    def __init__(self, logger: Any = None, *, event: str = "audit") -> None:
        self._log = logger if logger is not None else structlog.get_logger("txstore.audit")
        self._event = event

    async def record(self, tx: Store, entry: AuditEntry) -> None:
        """Log the entry; secret fields appear as ``{"secret": true}`` only."""
        del tx
        self._log.info(self._event, **entry.log_fields())


class _Combined:
    __slots__ = ("_auditors",)

    def __init__(self, auditors: tuple[Auditor, ...]) -> None:
        self._auditors = auditors

    async def record(self, tx: Store, entry: AuditEntry) -> None:
        for auditor in self._auditors:
            await auditor.record(tx, entry)


def combine(*auditors: Auditor) -> Auditor:
    """One auditor that hands each entry to ``auditors`` in order.

    The first failure stops the rest and rolls the change back.

    Raises:
        ValueError: no auditor was given.
    """
    if not auditors:
        raise ValueError("combine() needs at least one auditor")
    return auditors[0] if len(auditors) == 1 else _Combined(auditors)
