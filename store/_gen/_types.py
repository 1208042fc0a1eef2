"""PostgreSQL types to Python annotations, agreeing with what asyncpg returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from store._gen._introspect import Catalog, PgType
from store._gen._naming import Naming

__all__ = ["PyType", "UnknownType", "python_type"]

# base type name -> (annotation, module to import)
_SCALARS: Mapping[str, tuple[str, str | None]] = {
    "int2": ("int", None),
    "int4": ("int", None),
    "int8": ("int", None),
    "oid": ("int", None),
    "float4": ("float", None),
    "float8": ("float", None),
    "numeric": ("decimal.Decimal", "decimal"),
    "text": ("str", None),
    "varchar": ("str", None),
    "citext": ("str", None),
    "name": ("str", None),
    "bpchar": ("str", None),
    "char": ("str", None),
    "bool": ("bool", None),
    "uuid": ("uuid.UUID", "uuid"),
    "timestamptz": ("datetime.datetime", "datetime"),
    "timestamp": ("datetime.datetime", "datetime"),
    "date": ("datetime.date", "datetime"),
    "time": ("datetime.time", "datetime"),
    "timetz": ("datetime.time", "datetime"),
    "interval": ("datetime.timedelta", "datetime"),
    "bytea": ("bytes", None),
    "json": ("JsonValue", "pydantic"),
    "jsonb": ("JsonValue", "pydantic"),
    # asyncpg decodes an inet holding a host address to IPvXAddress, one with a
    # network prefix to IPvXInterface; cidr always to IPvXNetwork.
    "inet": (
        "ipaddress.IPv4Address | ipaddress.IPv6Address"
        " | ipaddress.IPv4Interface | ipaddress.IPv6Interface",
        "ipaddress",
    ),
    "cidr": ("ipaddress.IPv4Network | ipaddress.IPv6Network", "ipaddress"),
}


class UnknownType(Exception):
    """A PostgreSQL type txstore gen has no Python type for."""


@dataclass(frozen=True, slots=True)
class PyType:
    """The Python side of one PostgreSQL type.

    ``enum`` is the generated ``StrEnum`` class when the value (or, for an
    array, each element) is a PostgreSQL enum: asyncpg returns enum values as
    ``str``, so decoding converts them.
    """

    annotation: str
    modules: frozenset[str]
    pg_name: str
    enum: str | None = None
    array: bool = False

    def optional(self, nullable: bool) -> str:
        return f"{self.annotation} | None" if nullable else self.annotation


def python_type(oid: int, catalog: Catalog, naming: Naming) -> PyType:
    """The Python type of a value of type ``oid``; domains resolve to their base type.

    Raises:
        UnknownType: the type (or an array's element type) is not mapped.
    """
    pg = catalog.types.get(oid)
    if pg is None:
        raise UnknownType(f"type oid {oid}")
    if pg.elem and pg.category == "A":
        inner = python_type(pg.elem, catalog, naming)
        if inner.array:
            return PyType(f"list[{inner.annotation}]", inner.modules, inner.pg_name + "[]")
        return PyType(
            f"list[{inner.annotation}]", inner.modules, inner.pg_name + "[]", inner.enum, True
        )
    return _scalar(pg, catalog, naming)


def _scalar(pg: PgType, catalog: Catalog, naming: Naming) -> PyType:
    if pg.kind == "d":
        base = python_type(pg.base, catalog, naming)
        return PyType(base.annotation, base.modules, pg.qualified, base.enum, base.array)
    if pg.kind == "e":
        cls = naming.enum_name(pg.name)
        return PyType(cls, frozenset(), pg.qualified, cls)
    if (
        pg.kind == "b"
        and pg.name in _SCALARS
        and (pg.schema == "pg_catalog" or pg.name == "citext")
    ):
        annotation, module = _SCALARS[pg.name]
        return PyType(annotation, frozenset({module} if module else ()), pg.qualified)
    raise UnknownType(f"{pg.qualified} (oid {pg.oid})")
