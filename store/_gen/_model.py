"""What gets generated, before it becomes text: enums, models and query plans."""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from pydantic import BaseModel

from store._gen._parse import ParsedQuery
from store._gen._types import PyType

__all__ = ["EnumDef", "Field", "Model", "Plan", "QueryPlan", "field_name"]

_RESERVED = frozenset(dir(BaseModel)) | {"self"}


def field_name(column: str) -> str:
    """A Python attribute name for ``column`` (``json`` -> ``json_``, ``from`` -> ``from_``)."""
    if keyword.iskeyword(column) or column in _RESERVED or column.startswith("model_"):
        return column + "_"
    return column


@dataclass(frozen=True, slots=True)
class EnumDef:
    """A generated ``StrEnum`` for one PostgreSQL enum type."""

    name: str
    pg_name: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Field:
    """A model field (or a scalar result): column name, Python type, nullability."""

    column: str
    type: PyType
    nullable: bool

    @property
    def name(self) -> str:
        return field_name(self.column)

    @property
    def annotation(self) -> str:
        return self.type.optional(self.nullable)


@dataclass(frozen=True, slots=True)
class Model:
    """A pydantic row model: a table's (``table`` set) or one query's result shape."""

    name: str
    fields: tuple[Field, ...]
    doc: str
    table: str | None = None


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """One query, typed: parameters, and a model or scalar result (or none)."""

    parsed: ParsedQuery
    method: str
    params: tuple[Field, ...]  # column = parameter name, type from the server
    columns: tuple[str, ...]
    model: Model | None = None
    scalar: Field | None = None

    @property
    def const(self) -> str:
        return self.method.upper()

    @property
    def returns(self) -> str:
        """The element type the query's decode returns."""
        if self.model is not None:
            return self.model.name
        if self.scalar is not None:
            return self.scalar.annotation
        return "None"


@dataclass(frozen=True)
class Plan:
    """Everything one ``txstore gen`` run writes."""

    enums: tuple[EnumDef, ...]
    tables: tuple[Model, ...]
    rows: tuple[Model, ...]
    queries: tuple[QueryPlan, ...]
    unique: tuple[str, ...]
    foreign_keys: tuple[str, ...]
    checks: tuple[str, ...]
