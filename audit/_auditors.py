"""Auditors: where an entry goes. The database (default), structlog, or several."""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from audit._entry import AuditEntry
from audit.errors import AuditConfigError
from authz import SystemIdentity, as_system
from store import Kind, Query, Store

__all__ = ["ENTRY_COLUMNS", "Auditor", "DatabaseAuditor", "LogAuditor", "combine"]


class Auditor(Protocol):
    """Records one entry, inside the transaction of the change it describes.

    ``tx`` is the handle of that transaction: a write through it commits or
    rolls back with the change, and an exception raised here rolls the change
    back.
    """

    async def record(self, tx: Store, entry: AuditEntry) -> None: ...


def _values(entry: AuditEntry) -> dict[str, object]:
    request = entry.request
    return {
        "id": entry.id,
        "time": entry.time,
        "user_id": entry.actor_id,
        "org_id": entry.org_id,
        "ip": request.ip,
        "user_agent": request.user_agent,
        "request_id": request.request_id,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "resource_target": entry.resource_target,
        "action": str(entry.action),
        "diff": entry.diff_json(),
        "status_code": entry.status_code,
        "additional_fields": dict(entry.additional_fields),
        "query": entry.query,
    }


#: The parameter names an insert query of ``DatabaseAuditor`` may take, one per entry field.
ENTRY_COLUMNS = frozenset(
    {
        "id",
        "time",
        "user_id",
        "org_id",
        "ip",
        "user_agent",
        "request_id",
        "resource_type",
        "resource_id",
        "resource_target",
        "action",
        "diff",
        "status_code",
        "additional_fields",
        "query",
    }
)


class DatabaseAuditor:
    """Writes each entry with the application's insert query, in the change's own transaction.

    ``insert`` is a query of the application (an ``INSERT`` into its audit
    table; docs/audit.md has a table to copy) whose parameters are named
    after the entry's fields (:data:`ENTRY_COLUMNS`: ``id``, ``time``,
    ``user_id``, ``action``, ``diff``...), in any order and any subset.
    With ``identity`` the row is written as that system identity: the acting
    user may be allowed to change a resource without being allowed to write
    audit rows.
    """

    __slots__ = ("_identity", "_insert", "_names")

    def __init__(self, insert: Query[Any], *, identity: SystemIdentity | None = None) -> None:
        """Write entries with ``insert``.

        Raises:
            AuditConfigError: a parameter of ``insert`` names no entry field, or
                ``insert`` returns rows it would drop (``:many``).
        """
        names = tuple(p.name for p in insert.params)
        unknown = sorted(set(names) - ENTRY_COLUMNS)
        problems = [
            f"{insert.name} ({insert.source}): parameter {n!r} names no audit entry field; "
            f"the fields are {sorted(ENTRY_COLUMNS)}"
            for n in unknown
        ]
        if insert.kind is Kind.MANY:
            problems.append(f"{insert.name} ({insert.source}) must be :exec, :execrows or :one")
        if problems:
            raise AuditConfigError(problems)
        self._insert = insert
        self._names = names
        self._identity = identity

    async def record(self, tx: Store, entry: AuditEntry) -> None:
        """Insert the entry.

        Raises:
            store.errors.DatabaseError: the insert failed; the change rolls back.
        """
        values = _values(entry)
        args = tuple(values[n] for n in self._names)
        if self._identity is None:
            await self._run(tx, args)
            return
        with as_system(self._identity):
            await self._run(tx, args)

    async def _run(self, tx: Store, args: tuple[object, ...]) -> None:
        query = self._insert
        if query.kind is Kind.ONE:
            await tx.fetch_one(query, args)
        elif query.kind is Kind.EXECROWS:
            await tx.execute_rows(query, args)
        else:
            await tx.execute(query, args)


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
