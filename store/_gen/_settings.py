"""``[tool.txstore.gen]``: how ``txstore gen`` treats an existing code base's SQL.

Every key is optional::

    [tool.txstore.gen]
    naming-rule = "on"                    # "on" (error), "warn" (print, go on), "off"
    authorize-marker = "@authorize_filter"  # the comment that marks the authz filter

    [tool.txstore.gen.types]              # a PostgreSQL type (domain, extension) -> Python
    "public.email_address" = "str"
    "ltree" = "str"

    [tool.txstore.gen.queries.ListEvents]   # per query: the same as its directives
    params = { "$1" = "start_at" }         # rename a parameter ($n or its name)
    nullable = ["start_at"]                # parameters that take None
    required = ["note"]                    # parameters that never take None
    not-null = ["total"]                   # result columns that are never NULL
    optional = ["label"]                   # result columns that may be NULL
    columns = { "?column?" = "total" }     # rename a result column's field
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_SETTINGS", "GenSettings", "QueryOverride", "settings_from_table"]

_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_MARKER = re.compile(r"^@?[A-Za-z_][A-Za-z0-9_:.-]*$")


@dataclass(frozen=True)
class QueryOverride:
    """Per-query settings; the query file's directives say the same thing in place."""

    params: Mapping[str, str] = field(default_factory=dict)
    nullable: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    not_null: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GenSettings:
    """Everything ``[tool.txstore.gen]`` can set (see the module docstring)."""

    naming_rule: str = "on"
    authorize_marker: str = "@authorize_filter"
    types: Mapping[str, str] = field(default_factory=dict)
    queries: Mapping[str, QueryOverride] = field(default_factory=dict)


DEFAULT_SETTINGS = GenSettings()


def _strings(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where} must be a list of strings")
    return frozenset(value)


def _mapping(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{where} must map strings to strings")
    return dict(value)


def settings_from_table(table: Mapping[str, Any]) -> GenSettings:
    """Read ``[tool.txstore.gen]`` (given as a parsed TOML table).

    Raises:
        ValueError: an unknown key or a value of the wrong shape, named with its key.
    """
    known = {"naming-rule", "authorize-marker", "types", "queries"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"[tool.txstore.gen] has unknown keys: {', '.join(unknown)}")
    rule = table.get("naming-rule", "on")
    if rule not in ("on", "warn", "off"):
        raise ValueError('[tool.txstore.gen] naming-rule must be "on", "warn" or "off"')
    marker = table.get("authorize-marker", "@authorize_filter")
    if not isinstance(marker, str) or not _MARKER.match(marker):
        raise ValueError("[tool.txstore.gen] authorize-marker must be one word, like @authz_filter")
    types = _mapping(table.get("types", {}), "[tool.txstore.gen.types]")
    for pg, py in types.items():
        if not _MODULE_NAME.match(py):
            raise ValueError(f"[tool.txstore.gen.types] {pg!r}: {py!r} is not a dotted Python name")
    queries: dict[str, QueryOverride] = {}
    raw_queries = table.get("queries", {})
    if not isinstance(raw_queries, Mapping):
        raise ValueError("[tool.txstore.gen.queries] must be a table of tables")
    for name, raw in raw_queries.items():
        where = f"[tool.txstore.gen.queries.{name}]"
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where} must be a table")
        extra = sorted(
            set(raw) - {"params", "nullable", "required", "not-null", "optional", "columns"}
        )
        if extra:
            raise ValueError(f"{where} has unknown keys: {', '.join(extra)}")
        queries[name] = QueryOverride(
            params=_mapping(raw.get("params", {}), f"{where} params"),
            nullable=_strings(raw.get("nullable", []), f"{where} nullable"),
            required=_strings(raw.get("required", []), f"{where} required"),
            not_null=_strings(raw.get("not-null", []), f"{where} not-null"),
            optional=_strings(raw.get("optional", []), f"{where} optional"),
            columns=_mapping(raw.get("columns", {}), f"{where} columns"),
        )
    return GenSettings(rule, marker, types, queries)
