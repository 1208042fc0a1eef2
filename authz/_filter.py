"""List queries filtered in SQL: a subject's grants become a WHERE predicate.

The predicate replaces the query's ``TRUE /*authorize_filter*/`` marker. Its
values are bound parameters numbered after the query's own, never text in
the SQL, so a derived query depends only on the *shape* of the grants (which
terms appear), and one derived query per (query, shape) is cached: the
driver's prepared statements are reused across subjects.
"""

from __future__ import annotations

import uuid
from typing import Any

from authz._authorize import Grants
from authz._policy import MARKER, Resource
from store import Param, Query
from store._query import derive

__all__ = ["Filters"]


def _col(alias: str, column: str) -> str:
    return '"' + alias.replace('"', '""') + '"."' + column.replace('"', '""') + '"'


class Filters:
    """Derived list queries, shared by a store and the transaction handles it wraps."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, tuple[str, ...]], Query[Any]] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def apply(
        self,
        query: Query[Any],
        resource: Resource,
        grants: Grants,
        subject_id: uuid.UUID,
        action: str = "read",
    ) -> tuple[Query[Any], tuple[object, ...]]:
        """The derived query for these grants and the values to append to its arguments."""
        owner = resource.owner
        org = resource.org if isinstance(resource.org, str) else None
        shape: list[str] = []
        extra: list[object] = []
        if grants.everywhere:
            shape.append("all")
        else:
            if owner is not None and (grants.owned or (org is not None and grants.owned_in)):
                shape.append("me")
                extra.append(subject_id)
            if owner is not None and grants.owned:
                shape.append("owned")
            if org is not None and len(grants.orgs) == 1:
                # One org (the common case) compares with "=", which lets
                # PostgreSQL walk an (org column, created_at) index in order and
                # stop at LIMIT; "= ANY(array)" makes it fetch every match and sort.
                shape.append("org")
                extra.append(grants.orgs[0])
            elif org is not None and grants.orgs:
                shape.append("orgs")
                extra.append(list(grants.orgs))
            if owner is not None and org is not None and grants.owned_in:
                shape.append("owned_in")
                extra.append(list(grants.owned_in))
            opened = resource.open
            if grants.open and opened is not None and action in opened.actions:
                shape.append("open")
                extra.append(opened.value)
        key = (query.name, id(query), tuple(shape))
        derived = self._cache.get(key)
        if derived is None:
            derived = self._cache[key] = self._derive(query, resource, tuple(shape))
        return derived, tuple(extra)

    @staticmethod
    def _derive(query: Query[Any], resource: Resource, shape: tuple[str, ...]) -> Query[Any]:
        alias = query.authorize_filter or resource.type
        n = len(query.params)
        params = list(query.params)
        terms: list[str] = []
        me = ""
        if "me" in shape:
            n += 1
            me = f"${n}::uuid"
            params.append(Param("authz_subject_id", "uuid"))
        if "all" in shape:
            terms.append("TRUE")
        if "owned" in shape:
            assert resource.owner is not None
            terms.append(f"{_col(alias, resource.owner)} = {me}")
        if "org" in shape:
            assert isinstance(resource.org, str)
            n += 1
            params.append(Param("authz_org", "uuid"))
            terms.append(f"{_col(alias, resource.org)} = ${n}::uuid")
        for name in ("orgs", "owned_in"):
            if name not in shape:
                continue
            assert isinstance(resource.org, str)
            n += 1
            params.append(Param(f"authz_{name}", "uuid[]"))
            in_orgs = f"{_col(alias, resource.org)} = ANY(${n}::uuid[])"
            if name == "orgs":
                terms.append(in_orgs)
            else:
                assert resource.owner is not None
                terms.append(f"({_col(alias, resource.owner)} = {me} AND {in_orgs})")
        if "open" in shape:
            assert resource.open is not None
            n += 1
            params.append(Param("authz_open", "unknown"))
            # No cast: PostgreSQL types the parameter from the column it is compared with.
            terms.append(f"{_col(alias, resource.open.column)} = ${n}")
        predicate = "(" + " OR ".join(terms) + ")" if terms else "FALSE"
        sql = query.sql.replace(MARKER, f"{predicate} /*authorized*/")
        # Registered as the query's variant, so an audit layer below accepts it.
        return derive(query, sql=sql, params=tuple(params))
