"""The application's audit configuration, handed to ``AuditStore`` as one object."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from audit._classify import check_table, classification_of
from audit._declare import Audited, Resource, Unaudited
from audit._diff import Change, diff
from audit._field import Auditable, Field, Problem
from audit._plan import Plans, check_declarations, compile_plans
from audit._source import locate
from store import Query

if TYPE_CHECKING:
    from audit._auditors import Auditor

__all__ = ["Config"]


class Config:
    """Everything domain-specific the audit layer knows, declared by the application.

    ``queries`` is the application's generated ``QUERIES``; ``table`` its
    classification of every field of every auditable model; ``not_audited``
    the tables queries write on purpose without entries (with the reason);
    ``mutations`` maps each query writing an auditable table to
    :class:`Audited` or :class:`Unaudited`; ``resources`` says how a row of
    each audited table names itself in an entry; ``create`` and ``delete`` are
    the application's actions for inserts and deletes; ``auditor`` is where
    entries go (its own table through ``DatabaseAuditor``, a log, or both).
    Problems name ``source``, by default the file that constructs the config.

    Nothing is checked at construction; :meth:`plans` (called by
    ``AuditStore``) and :meth:`problems` (called by ``txstore lint``) check.
    """

    __slots__ = (
        "_plans",
        "auditor",
        "create",
        "delete",
        "mutations",
        "not_audited",
        "queries",
        "resources",
        "source",
        "table",
    )

    def __init__(
        self,
        *,
        queries: Mapping[str, Query[Any]],
        table: Sequence[Auditable],
        mutations: Mapping[str, Audited | Unaudited],
        resources: Mapping[str, Resource],
        auditor: Auditor,
        not_audited: Mapping[str, str] | None = None,
        create: str = "create",
        delete: str = "delete",
        source: str | Path | None = None,
    ) -> None:
        self.source = (
            Path(source).resolve()
            if source is not None
            else Path(sys._getframe(1).f_code.co_filename).resolve()  # the declaring file
        )
        self.queries = MappingProxyType(dict(queries))
        self.table = tuple(table)
        self.mutations = MappingProxyType(dict(mutations))
        self.resources = MappingProxyType(dict(resources))
        self.not_audited = MappingProxyType(dict(not_audited or {}))
        self.auditor = auditor
        self.create = str(create)
        self.delete = str(delete)
        self._plans: Plans | None = None

    def problems(self) -> list[Problem]:
        """Every defect of the table and the declarations, by file and line. Raises nothing."""
        return [
            *check_table(
                self.table, not_audited=self.not_audited, queries=self.queries, source=self.source
            ),
            *check_declarations(
                self.mutations,
                self.resources,
                table=self.table,
                queries=self.queries,
                source=self.source,
                actions=(self.create, self.delete),
            ),
        ]

    def plans(self) -> Plans:
        """The compiled per-query plans (compiled once).

        Raises:
            AuditConfigError: the table or the declarations are incomplete or
                stale; each problem names the file and line to edit.
        """
        if self._plans is None:
            self._plans = compile_plans(
                self.mutations,
                self.resources,
                table=self.table,
                not_audited=self.not_audited,
                queries=self.queries,
                source=self.source,
                actions=(self.create, self.delete),
            )
        return self._plans

    @property
    def file(self) -> str:
        """:attr:`source` as problems name it (relative to the working directory)."""
        return locate(self.source).file

    def classification_of(self, model: type[BaseModel]) -> dict[str, Field]:
        """The classification of ``model`` (or of the classified model it derives from).

        Raises:
            NotAuditable: neither ``model`` nor a base class of it is in the table.
            UnclassifiedField: ``model`` has a field the table does not classify.
        """
        return classification_of(model, self.table, self.file)

    def diff(self, old: BaseModel | None, new: BaseModel | None) -> dict[str, Change]:
        """:func:`audit.diff` with the model's classification from the table.

        Raises:
            TypeError: both rows are None, or they are of different models.
            NotAuditable: the model has no entry in the table.
            UnclassifiedField: the model has a field the table does not classify.
        """
        row = new if new is not None else old
        if row is None:
            raise TypeError("diff needs at least one row")
        return diff(old, new, fields=self.classification_of(type(row)))

    def __repr__(self) -> str:
        return f"<audit.Config from {self.file}: {len(self.mutations)} declared mutations>"
