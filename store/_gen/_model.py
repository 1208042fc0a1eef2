"""What gets generated, before it becomes text: enums, models and query plans."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from store._gen._naming import identifier, unique_names, upper_snake
from store._gen._parse import ParsedQuery
from store._gen._types import PyType

__all__ = [
    "RESERVED_FIELDS",
    "EnumDef",
    "Field",
    "Model",
    "Plan",
    "QueryPlan",
    "enum_members",
    "field_name",
]

#: Names a model field must not take: pydantic's own attributes, and the
#: modules and names the generated files import (a field named ``uuid`` would
#: hide the module its own annotation ``uuid.UUID`` needs).
RESERVED_FIELDS = frozenset(dir(BaseModel)) | {
    "self",
    "asyncpg",
    "datetime",
    "decimal",
    "enum",
    "ipaddress",
    "typing",
    "uuid",
    "pydantic",
    "JsonValue",
    "Field",
    "ConfigDict",
    "BaseModel",
    "Any",
}


def field_name(column: str) -> str:
    """A Python attribute name for ``column``.

    ``json`` -> ``json_``, ``from`` -> ``from_``, ``model_x`` -> ``model_x_``,
    ``!!!nobody`` -> ``nobody``, ``1st`` -> ``column_1st``, ``?column?`` -> ``column``.
    """
    name = identifier(column, "column", RESERVED_FIELDS)
    return name + "_" if name.startswith("model_") else name


def enum_members(labels: tuple[str, ...]) -> tuple[str, ...]:
    """Member names for enum labels: UPPER_SNAKE, ``LABEL_<n>`` when nothing is left
    (``#``, ``*``), ``_2``/``_3`` suffixes for repeats (``a-b`` and ``a_b``).
    """
    return tuple(
        unique_names([upper_snake(label, f"LABEL_{i}") for i, label in enumerate(labels, 1)])
    )


@dataclass(frozen=True, slots=True)
class EnumDef:
    """A generated ``StrEnum`` for one PostgreSQL enum type."""

    name: str
    pg_name: str
    labels: tuple[str, ...]
    members: tuple[str, ...] = ()  # one Python member name per label

    def member_names(self) -> tuple[str, ...]:
        """``members``, or the labels' UPPER_SNAKE forms made unique."""
        return self.members or enum_members(self.labels)


@dataclass(frozen=True, slots=True)
class Field:
    """A model field (or a scalar result): column name, Python type, nullability."""

    column: str
    type: PyType
    nullable: bool
    py_name: str = ""  # the Python name when it is not field_name(column)
    embed: Model | None = None  # sqlc.embed: a nested model built from ``width`` columns
    width: int = 1  # result columns this field is built from
    presence: int | None = None  # embed on an outer join's nullable side: NULL here = absent

    @property
    def name(self) -> str:
        return self.py_name or field_name(self.column)

    @property
    def annotation(self) -> str:
        return self.type.optional(self.nullable)


@dataclass(frozen=True, slots=True)
class Model:
    """A pydantic model: a table's row (``table`` set), a composite type's value
    (``composite`` set), or one query's result shape.
    """

    name: str
    fields: tuple[Field, ...]
    doc: str
    table: str | None = None
    composite: str | None = None


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
    composites: tuple[Model, ...]  # each after the composites its fields hold
    tables: tuple[Model, ...]
    rows: tuple[Model, ...]
    queries: tuple[QueryPlan, ...]
    unique: tuple[str, ...]
    foreign_keys: tuple[str, ...]
    checks: tuple[str, ...]
    warnings: tuple[str, ...] = ()
