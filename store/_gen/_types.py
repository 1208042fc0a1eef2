"""PostgreSQL types to Python annotations, agreeing with what asyncpg returns."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from store._gen._introspect import Catalog, PgType
from store._gen._naming import Naming

__all__ = ["HSTORE", "PyType", "UnknownType", "python_type"]

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
    "char": ("bytes", None),  # the one-byte "char": asyncpg reads and writes bytes
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
    "macaddr": ("str", None),
    "macaddr8": ("str", None),
    "bit": ("asyncpg.BitString", "asyncpg"),
    "varbit": ("asyncpg.BitString", "asyncpg"),
    "point": ("asyncpg.Point", "asyncpg"),
    "box": ("asyncpg.Box", "asyncpg"),
    "lseg": ("asyncpg.LineSegment", "asyncpg"),
    "line": ("asyncpg.Line", "asyncpg"),
    "path": ("asyncpg.Path", "asyncpg"),
    "polygon": ("asyncpg.Polygon", "asyncpg"),
    "circle": ("asyncpg.Circle", "asyncpg"),
    "xid": ("int", None),
    "xid8": ("int", None),
    "cid": ("int", None),
    "pg_lsn": ("int", None),
    "tid": ("tuple[int, int]", None),
    "money": ("str", None),
    "xml": ("str", None),
    "tsvector": ("str", None),
    "tsquery": ("str", None),
    "txid_snapshot": ("tuple[int, int, tuple[int, ...]]", None),
    "pg_snapshot": ("tuple[int, int, tuple[int, ...]]", None),
    "regclass": ("str", None),
    "regtype": ("str", None),
    "regproc": ("str", None),
    "regprocedure": ("str", None),
    "regoper": ("str", None),
    "regoperator": ("str", None),
    "regconfig": ("str", None),
    "regdictionary": ("str", None),
    "regnamespace": ("str", None),
    "regrole": ("str", None),
    "regcollation": ("str", None),
    "aclitem": ("str", None),
    "jsonpath": ("str", None),
    "unknown": ("str", None),
    "cstring": ("str", None),
    "refcursor": ("str", None),
    "int2vector": ("list[int]", None),
    "oidvector": ("list[int]", None),
    "pg_node_tree": ("str", None),
    "pg_ndistinct": ("str", None),
    "pg_dependencies": ("str", None),
    "pg_mcv_list": ("bytes", None),
    "void": ("None", None),
    "record": ("tuple[object, ...]", None),  # asyncpg reads an anonymous row as a tuple
}

# Extension types asyncpg decodes as text: mapped without a warning.
_TEXT_EXTENSIONS = frozenset({"citext", "ltree", "lquery", "ltxtquery", "cube", "isbn"})

#: hstore as the store's connections decode it (they register asyncpg's
#: ``pg_contrib.hstore`` codec): keys are text, values text or NULL.
HSTORE = "dict[str, str | None]"
_HSTORE_PARAM = "Mapping[str, str | None]"  # queries.py imports collections.abc's Mapping


class UnknownType(Exception):
    """A PostgreSQL type txstore gen has no Python type for (kept for callers; never raised)."""


@dataclass(frozen=True, slots=True)
class PyType:
    """The Python side of one PostgreSQL type.

    ``enum`` is the generated ``StrEnum`` class when the value (or, for an
    array, each element) is a PostgreSQL enum: asyncpg returns enum values as
    ``str``, so decoding converts them. ``model`` is likewise the generated
    model of a composite type (of the value, or of each element of an array):
    decoding builds it from asyncpg's record, a parameter is sent as a tuple.
    ``param`` is the annotation a parameter takes when it differs from the
    result's (an hstore is written from any mapping, read as a dict).
    """

    annotation: str
    modules: frozenset[str]
    pg_name: str
    enum: str | None = None
    array: bool = False
    guessed: bool = False  # an unknown type, read as text: worth a warning
    composite: bool = False  # a table's row value: asyncpg reads a Record, writes any tuple
    model: str | None = None
    param: str | None = None

    def as_param(self) -> PyType:
        """The type a parameter takes: a table's row value (or an array of them) as plain tuples."""
        if self.param is not None:
            return dataclasses.replace(self, annotation=self.param, param=None)
        if not self.composite:
            return self
        annotation = self.annotation.replace("asyncpg.Record", "tuple[object, ...]")
        return PyType(annotation, self.modules - {"asyncpg"}, self.pg_name, self.enum, self.array)

    def optional(self, nullable: bool) -> str:
        if nullable and self.annotation != "None":
            return f"{self.annotation} | None"
        return self.annotation


def python_type(
    oid: int,
    catalog: Catalog,
    naming: Naming,
    overrides: Mapping[str, str] | None = None,
    classes: Mapping[int, str] | None = None,
) -> PyType:
    """The Python type of a value of type ``oid``; domains resolve to their base type.

    ``classes`` holds the generated class of each enum and composite type by
    oid (the names after clashes were resolved); a type not in it is named
    by ``naming``.

    ``overrides`` maps a type name (``email``, or ``schema.email`` outside
    ``public``) to a dotted Python name and wins over everything else. A type
    with no mapping is read as text (``str``, ``guessed`` set): asyncpg decodes
    a type it has no codec for from its text form. Never raises.
    """
    pg = catalog.types.get(oid)
    if pg is None:
        return PyType("str", frozenset(), f"oid {oid}", guessed=True)
    chosen = (overrides or {}).get(pg.qualified) or (overrides or {}).get(pg.name)
    if chosen is not None:
        module = chosen.rpartition(".")[0]
        return PyType(chosen, frozenset({module} if module else ()), pg.qualified)
    if pg.elem and pg.category == "A":
        inner = python_type(pg.elem, catalog, naming, overrides, classes)
        return PyType(
            f"list[{inner.annotation}]",
            inner.modules,
            inner.pg_name + "[]",
            None if inner.array else inner.enum,
            not inner.array,
            inner.guessed,
            inner.composite,
            None if inner.array else inner.model,
            None if inner.param is None else f"list[{inner.param}]",
        )
    return _scalar(pg, catalog, naming, overrides, classes or {})


def _scalar(
    pg: PgType,
    catalog: Catalog,
    naming: Naming,
    overrides: Mapping[str, str] | None,
    classes: Mapping[int, str],
) -> PyType:
    if pg.kind == "d":
        base = python_type(pg.base, catalog, naming, overrides, classes)
        return dataclasses.replace(base, pg_name=pg.qualified)
    if pg.kind == "e":
        cls = classes.get(pg.oid) or naming.enum_name(pg.name)
        return PyType(cls, frozenset(), pg.qualified, cls)
    if pg.kind == "c" and pg.standalone:
        cls = classes.get(pg.oid) or naming.composite_name(pg.name)
        return PyType(cls, frozenset(), pg.qualified, model=cls)
    if pg.kind in ("r", "m"):
        sub = python_type(pg.subtype, catalog, naming, overrides, classes)
        annotation = f"asyncpg.Range[{sub.annotation}]"
        if pg.kind == "m":
            annotation = f"list[{annotation}]"
        return PyType(annotation, sub.modules | {"asyncpg"}, pg.qualified, guessed=sub.guessed)
    if pg.kind == "c":
        # A table's row type: asyncpg decodes the value into a Record of its fields.
        return PyType("asyncpg.Record", frozenset({"asyncpg"}), pg.qualified, composite=True)
    if pg.name in _SCALARS and pg.schema == "pg_catalog":
        annotation, module = _SCALARS[pg.name]
        modules = frozenset({module} if module else ())
        return PyType(annotation, modules, pg.qualified)
    if pg.name == "hstore" and pg.kind == "b":
        return PyType(HSTORE, frozenset(), pg.qualified, param=_HSTORE_PARAM)
    if pg.name in _TEXT_EXTENSIONS:
        return PyType("str", frozenset(), pg.qualified)
    return PyType("str", frozenset(), pg.qualified, guessed=True)
