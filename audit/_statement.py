"""The single-statement form of an audited mutation: the change and its entries together.

For each audited query the layer derives, once, one SQL statement that runs
the application's mutation in a data-modifying CTE, reads the old row in the
same statement (an ``UPDATE`` joins its lookup query ``FOR UPDATE``; a
``DELETE`` returns the old row; an ``INSERT`` has none), builds the diff in
SQL from the classification table and inserts the entry with the
application's own sink query, its ``VALUES`` turned into a ``SELECT`` over
the changed rows. The actor, the time and the request metadata travel as
parameters. One statement is atomic on its own, so an audited write outside
a transaction is one round trip with no BEGIN/COMMIT, and inside one it
needs no savepoint.

Where the form cannot express something, :func:`derive` says why and the
layer keeps the transaction form for that query.
"""

from __future__ import annotations

import datetime
import enum
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, JsonValue

from audit._field import Field
from audit._sqltext import Token, replace_params, tokens
from audit.errors import NoSingleStatement
from store import Kind, Param, Query
from store._query import derive as derive_query

__all__ = ["ENTRY_VALUES", "RACED", "Statement", "derive", "diff_sql", "raced"]

#: Entry fields the statement binds as parameters: (parameter, PostgreSQL type).
_BOUND = {
    "user_id": ("audit_user_id", "uuid"),
    "time": ("audit_time", "timestamptz"),
    "ip": ("audit_ip", "inet"),
    "user_agent": ("audit_user_agent", "text"),
    "request_id": ("audit_request_id", "uuid"),
}

_SECRET_JSON = """'{"secret": true}'::jsonb"""  # noqa: S105  # the marker, not a secret


@dataclass(frozen=True, slots=True)
class Statement:
    """A derived single-statement mutation and the entry values it binds after the query's own."""

    query: Query[Any]
    bound: tuple[str, ...]  # entry fields ("user_id", "time", ...), in parameter order
    #: An upsert's form that skips a row inserted concurrently after its snapshot (no row
    #: comes back, nothing is written): running it again, with a new snapshot, is sound.
    rerun_when_empty: bool = False
    #: A bulk upsert's form that fails as a whole (:func:`raced`, nothing written)
    #: when a row of its source met a row inserted concurrently after its snapshot: running
    #: it again, with a new snapshot, is sound.
    rerun_when_raced: bool = False
    #: Derived from ``bound``: where each of its fields stands in :data:`ENTRY_VALUES`.
    at: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", tuple(ENTRY_VALUES.index(f) for f in self.bound))


#: The entry values a statement may bind, in the order the layer supplies them
#: (:attr:`Statement.at` picks its own).
ENTRY_VALUES = tuple(_BOUND)

#: The name a bulk upsert's statement fails to find when a row of its source met a row
#: committed after its snapshot: SQL has no RAISE, so the check casts this name (and
#: the number of such rows) to ``regclass``, and the server answers SQLSTATE 42P01,
#: ``relation "txstore_audit_upsert_raced_<n>" does not exist``. No other part of
#: the statement, and no application query, fails naming it (:func:`raced`).
RACED = "txstore_audit_upsert_raced_"
_UNDEFINED_TABLE = "42P01"


def raced(exc: BaseException) -> bool:
    """Whether ``exc`` is a bulk upsert's statement failing its race check (nothing written)."""
    return getattr(exc, "sqlstate", None) == _UNDEFINED_TABLE and f'"{RACED}' in str(exc)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _base(annotation: Any) -> Any:
    """``X`` for ``X | None``; the annotation itself otherwise."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


_SCALARS = (bool, int, str, uuid.UUID, datetime.date)


def _scalar(kind: Any) -> bool:
    if kind is float or kind is datetime.datetime:
        return False  # NaN compares equal in SQL; datetimes have their own format
    return isinstance(kind, type) and (issubclass(kind, _SCALARS) or issubclass(kind, enum.Enum))


def _json(annotation: Any, ref: str) -> str:
    """SQL for a value as ``audit.diff`` renders it (pydantic's JSON mode).

    Raises:
        NoSingleStatement: the type has no rendering known to match Python's.
    """
    kind = _base(annotation)
    if kind is datetime.datetime:
        # asyncpg returns timestamptz in UTC and pydantic writes it as ...Z, with six
        # digits of microseconds when there are any (to_jsonb would use the session zone).
        # One to_char, then the whole-second form drops its ".000000".
        return (
            f"to_jsonb(replace(to_char({ref} AT TIME ZONE 'UTC', "
            f"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z'))"
        )
    if kind is bytes:
        return f"to_jsonb(translate(encode({ref}, 'base64'), E'+/\\n', '-_'))"
    if kind is JsonValue:
        return f"to_jsonb({ref})"  # json and jsonb alike; jsonb as it is
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        if _scalar(_base(item)) and _base(item) is not datetime.date:
            return f"to_jsonb({ref})"
    if _scalar(kind):
        return f"to_jsonb({ref})"
    raise NoSingleStatement(f"no SQL rendering of {annotation!r} known to match audit.diff()")


def _comparable(annotation: Any) -> bool:
    kind = _base(annotation)
    if kind in (datetime.datetime, bytes, JsonValue) or _scalar(kind):
        return True
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        return _comparable(item) and _base(item) is not bytes
    return False


def diff_sql(
    model: type[BaseModel],
    fields: Mapping[str, Field],
    *,
    old: Callable[[str], str] | None,
    new: Callable[[str], str] | None,
) -> str:
    """A SQL ``jsonb`` expression equal to ``diff_json(diff(old, new, fields=fields))``.

    ``old`` and ``new`` turn a column name into SQL for its value in the old
    and new row; None stands for no row (a create, or a delete). The result is
    ``'{}'`` when no ``TRACK`` or ``SECRET`` field changed; a secret field is
    ``{"secret": true}``.

    Raises:
        NoSingleStatement: a tracked or secret field's type has no SQL form known to
            compare and render as ``audit.diff()`` does (the layer then keeps
            the transaction form).
        ValueError: both rows are None.
    """
    if old is None and new is None:
        raise ValueError("diff_sql needs at least one row")
    parts: list[str] = []  # an update's per-field objects, '{}' where unchanged
    pairs: list[str] = []  # a create's or a delete's key, value pairs
    for name, info in model.model_fields.items():
        kind = fields[name]
        if kind is Field.IGNORE:
            continue
        annotation = info.annotation
        if not _comparable(annotation):
            raise NoSingleStatement(
                f"{model.__name__}.{name}: {annotation!r} cannot be compared in SQL"
            )
        before = old(name) if old is not None else "NULL"
        after = new(name) if new is not None else "NULL"
        if kind is Field.SECRET:
            change = _SECRET_JSON
        else:
            old_json = _json(annotation, before) if old is not None else "NULL::jsonb"
            new_json = _json(annotation, after) if new is not None else "NULL::jsonb"
            change = f"jsonb_build_object('old', {old_json}, 'new', {new_json})"
        if old is None or new is None:
            # A create or a delete: every field appears, in one object.
            pairs.append(f"{_literal(name)}, {change}")
            continue
        if _base(annotation) is JsonValue:
            # Python reads a JSON null and an SQL NULL alike (None), so they are
            # the same value here too; jsonb's own equality does the rest.
            before = f"COALESCE(to_jsonb({before}), 'null'::jsonb)"
            after = f"COALESCE(to_jsonb({after}), 'null'::jsonb)"
        entry = f"jsonb_build_object({_literal(name)}, {change})"
        parts.append(f"(CASE WHEN {before} IS DISTINCT FROM {after} THEN {entry} ELSE '{{}}' END)")
    # jsonb_build_object takes at most 100 arguments: 50 fields an object.
    for start in range(0, len(pairs), 50):
        parts.append("jsonb_build_object(" + ", ".join(pairs[start : start + 50]) + ")")
    if not parts:
        return "'{}'::jsonb"
    return "\n      || ".join(parts)


def _top(found: list[Token], word: str, after: int = 0) -> Token | None:
    upper = word.upper()
    return next(
        (
            t
            for t in found
            if t.start >= after and t.depth == 0 and t.kind == "word" and t.text.upper() == upper
        ),
        None,
    )


def _first_word(found: list[Token]) -> str:
    return next((t.text.upper() for t in found if t.kind == "word"), "")


def _returning_star(sql: str, found: list[Token]) -> Token:
    returning = _top(found, "RETURNING")
    if returning is None or sql[returning.end :].strip().rstrip(";").strip() != "*":
        raise NoSingleStatement("the mutation must end in RETURNING *")
    return returning


def _target(sql: str, found: list[Token], first: Token, set_: Token) -> str:
    """How the UPDATE's columns are qualified: its alias, else its table name."""
    words = [t for t in found if first.end <= t.start < set_.start]
    if any(t.kind != "word" and t.text != "." for t in words):
        raise NoSingleStatement("the UPDATE target is not a plain table name")
    names = [t.text for t in words if t.kind == "word" and t.text.upper() not in ("ONLY", "AS")]
    if not names:
        raise NoSingleStatement("the UPDATE names no table")
    if sql[words[-1].end : set_.start].strip():
        raise NoSingleStatement("the UPDATE target is not a plain table name")
    return names[-1]


def _update(
    sql: str,
    columns: tuple[str, ...],
    lookup: tuple[Query[Any], tuple[int, ...]] | None,
    key: tuple[str, ...],
) -> tuple[str, tuple[str, ...]]:
    """The UPDATE joined to its old rows, locked: (SQL returning them too, their aliases).

    With ``lookup`` the old row is the lookup's (a one-row UPDATE); without,
    the rows the UPDATE's own ``WHERE`` selects, read ``FOR UPDATE`` (a bulk
    UPDATE). Either way they are paired with the new rows by ``key``.
    """
    found = tokens(sql)
    first = found[0] if found else None
    set_ = _top(found, "SET")
    where = _top(found, "WHERE")
    if first is None or first.text.upper() != "UPDATE" or set_ is None or where is None:
        raise NoSingleStatement("the UPDATE must read UPDATE <table> SET ... WHERE ... RETURNING *")
    returning = _returning_star(sql, found)
    if returning.start < where.start:
        raise NoSingleStatement("the UPDATE must read UPDATE <table> SET ... WHERE ... RETURNING *")
    target = _target(sql, found, first, set_)
    from_ = _top(found, "FROM", set_.end)
    if from_ is not None and from_.start > where.start:
        from_ = None
    aliases = tuple(f"audit_old_{i}" for i in range(len(columns)))
    condition = sql[where.end : returning.start].rstrip()
    if lookup is not None:
        query, lookup_args = lookup
        lookup_sql = replace_params(
            query.sql.rstrip().rstrip(";"), lambda n: f"${lookup_args[n - 1] + 1}"
        )
        selected = ", ".join(
            f"audit_l.{_ident(c)} AS {a}" for c, a in zip(columns, aliases, strict=True)
        )
        locked = f"(SELECT {selected} FROM (\n{lookup_sql}\n) AS audit_l) AS audit_lock"
    else:
        # The same rows the UPDATE selects: its target (alias and all) and FROM
        # items, its WHERE; only the target's rows are locked.
        selected = ", ".join(
            f"{_ident(target)}.{_ident(c)} AS {a}" for c, a in zip(columns, aliases, strict=True)
        )
        sources = sql[first.end : set_.start].strip()
        if from_ is not None:
            sources += ", " + sql[from_.end : where.start].strip()
        locked = (
            f"(SELECT {selected} FROM {sources} WHERE {condition}\n"
            f"FOR UPDATE OF {_ident(target)}) AS audit_lock"
        )
    by_column = dict(zip(columns, aliases, strict=True))
    join = " AND ".join(f"{_ident(target)}.{_ident(k)} = audit_lock.{by_column[k]}" for k in key)
    rewritten = (
        sql[: where.start].rstrip()
        + ("\n, " if from_ is not None else "\nFROM ")
        + locked
        + f"\nWHERE {join} AND (\n"
        + condition
        + "\n)\n"
        + sql[returning.start :]
    )
    return rewritten, aliases


def _sink(
    insert: Query[Any], values: Mapping[str, str], source: str, condition: str
) -> tuple[str, tuple[str, ...]]:
    """The sink's INSERT ... VALUES turned into INSERT ... SELECT over ``source``.

    Returns the SQL (entry parameters still as NUL-delimited placeholders) and
    which bound entry fields it uses, in first-use order.
    """
    names = [p.name for p in insert.params]
    used: list[str] = []

    def value(n: int) -> str:
        field = names[n - 1]
        if field in _BOUND:
            if field not in used:
                used.append(field)
            return "\x00" + field + "\x00"
        return "(" + values[field] + ")"

    sql = insert.sql.rstrip().rstrip(";")
    found = tokens(sql)
    if _first_word(found) != "INSERT":
        raise NoSingleStatement(f"the sink {insert.name} is not an INSERT ... VALUES (...)")
    keyword = _top(found, "VALUES")
    if keyword is None:
        raise NoSingleStatement(f"the sink {insert.name} is not an INSERT ... VALUES (...)")
    index = found.index(keyword)
    opening = found[index + 1] if index + 1 < len(found) else None
    if opening is None or opening.kind != "(":
        raise NoSingleStatement(f"the sink {insert.name} is not an INSERT ... VALUES (...)")
    closing = next(t for t in found[index + 2 :] if t.kind == ")" and t.depth == 0)
    after = found[found.index(closing) + 1 :]
    if after and after[0].text == ",":
        raise NoSingleStatement(f"the sink {insert.name} inserts more than one row")
    inner = replace_params(sql[opening.end : closing.start], value)
    outside = sql[: keyword.start] + " " + sql[closing.end :]
    if any(t.kind == "param" for t in tokens(outside)):
        raise NoSingleStatement(f"the sink {insert.name} has parameters outside its VALUES")
    # What the sink returns is read by no one here: its RETURNING is left out.
    returning = _top(found, "RETURNING", closing.end)
    rest = sql[closing.end : returning.start if returning is not None else len(sql)]
    rewritten = (
        sql[: keyword.start] + f"SELECT {inner}\nFROM {source} AS a\nWHERE {condition}" + rest
    )
    return rewritten, tuple(used)


_OLD = "audit_o"  # RETURNING WITH (OLD AS audit_o, NEW AS audit_n): no clash with an alias
_NEW = "audit_n"


def _returning_old_new(
    sql: str, columns: tuple[str, ...], *, inserted: bool
) -> tuple[str, tuple[str, ...]]:
    """The mutation returning its new rows and each one's old values (PostgreSQL 18).

    ``RETURNING *`` becomes the new row plus the old row's columns under
    aliases (and, for an upsert, whether the row was inserted): the exact row
    the write replaced, read by the write itself, with no lookup and no lock
    beyond the write's own.
    """
    returning = _returning_star(sql, tokens(sql))
    aliases = tuple(f"audit_old_{i}" for i in range(len(columns)))
    old = ", ".join(f"{_OLD}.{_ident(c)} AS {a}" for c, a in zip(columns, aliases, strict=True))
    flag = f", ({_OLD}.ctid IS NULL) AS audit_inserted" if inserted else ""
    rewritten = (
        sql[: returning.start]
        + f"RETURNING WITH (OLD AS {_OLD}, NEW AS {_NEW}) {_NEW}.*, {old}{flag}"
    )
    return rewritten, aliases


def _insert_target(found: list[Token]) -> str:
    """How an INSERT's existing (conflicting) row is named: its alias, else its table name."""
    into = _top(found, "INTO")
    after = [t for t in found if into is not None and t.start >= into.end]
    if not after or after[0].kind != "word":
        raise NoSingleStatement("the upsert must read INSERT INTO <table> ...")
    name, i = after[0].text, 1
    while i + 1 < len(after) and after[i].text == "." and after[i + 1].kind == "word":
        name, i = after[i + 1].text, i + 2
    if i + 1 < len(after) and after[i].kind == "word" and after[i].text.upper() == "AS":
        return after[i + 1].text
    return name


def _upsert(
    sql: str,
    columns: tuple[str, ...],
    lookup: Query[Any],
    lookup_args: tuple[int, ...],
    key: str,
) -> tuple[str, str, tuple[str, ...]]:
    """The upsert guarded by its locked lookup: (the lock CTE, the upsert, the old aliases).

    The lookup reads the conflicting row ``FOR UPDATE``; the ``DO UPDATE``
    gets the condition that the row it is about to update is that row. A row
    inserted by another transaction after the statement's snapshot (the
    lookup cannot see it, yet ``ON CONFLICT`` waits for it and would update
    it) is then left alone: nothing is written, no row comes back, and
    running the statement again reads it.
    """
    found = tokens(sql)
    returning = _returning_star(sql, found)
    conflict = _top(found, "CONFLICT")
    do = next(
        (
            t
            for t in found
            if conflict is not None
            and t.start > conflict.start
            and t.depth == 0
            and t.kind == "word"
            and t.text.upper() == "DO"
        ),
        None,
    )
    if do is None:
        raise NoSingleStatement("the upsert must read INSERT ... ON CONFLICT ... DO UPDATE")
    target = _insert_target(found)
    aliases = tuple(f"audit_old_{i}" for i in range(len(columns)))
    by_column = dict(zip(columns, aliases, strict=True))
    lookup_sql = replace_params(
        lookup.sql.rstrip().rstrip(";"), lambda n: f"${lookup_args[n - 1] + 1}"
    )
    selected = ", ".join(
        f"audit_l.{_ident(c)} AS {a}" for c, a in zip(columns, aliases, strict=True)
    )
    lock = f"SELECT {selected} FROM (\n{lookup_sql}\n) AS audit_l"
    guard = (
        f"EXISTS (SELECT FROM audit_lock WHERE audit_lock.{by_column[key]} = "
        f"{_ident(target)}.{_ident(key)})"
    )
    where = _top(found, "WHERE", do.end)
    if where is not None and where.start < returning.start:
        rewritten = (
            sql[: where.end]
            + f" {guard} AND (\n"
            + sql[where.end : returning.start].rstrip()
            + "\n)\n"
            + sql[returning.start :]
        )
    else:
        rewritten = sql[: returning.start].rstrip() + f"\nWHERE {guard}\n" + sql[returning.start :]
    return lock, rewritten, aliases


def _bulk_upsert(
    sql: str, params: tuple[Param, ...], columns: tuple[str, ...]
) -> tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]]:
    """A bulk upsert split for the lookup shape (every supported version).

    Returns (the source CTE, the lock CTE, the upsert reading the source, the
    check CTE, the old-row aliases, the conflict columns). The INSERT's row
    source (``VALUES`` of several rows, ``SELECT``, ``unnest``) becomes the CTE
    ``audit_src`` named after the INSERT's columns, evaluated once; the
    existing rows of the conflict target that the source names are read and
    locked ``FOR UPDATE``; the ``DO UPDATE`` fires only for a locked row. A row
    inserted by another transaction after the snapshot is invisible to the
    lock, yet ``ON CONFLICT`` waits for it and would update it: the guard
    leaves it alone, and the check CTE makes the whole statement fail naming
    :data:`RACED` (nothing written, see :func:`raced`), so the caller may run it again.

    Raises:
        NoSingleStatement: the upsert does not read ``INSERT INTO <table> (columns)
            <rows> ON CONFLICT (columns) DO UPDATE ...``.
    """
    found = tokens(sql)
    returning = _returning_star(sql, found)
    into = _top(found, "INTO")
    on = next(
        (
            t
            for i, t in enumerate(found)
            if t.depth == 0
            and t.kind == "word"
            and t.text.upper() == "ON"
            and i + 1 < len(found)
            and found[i + 1].text.upper() == "CONFLICT"
        ),
        None,
    )
    if into is None or on is None or _first_word(found) != "INSERT":
        raise NoSingleStatement("the bulk upsert must read INSERT INTO <table> ... ON CONFLICT")
    # INSERT INTO <table> [AS alias] (columns): the first top-level "(" after INTO.
    opening = next(
        (t for t in found if t.start > into.end and t.kind == "(" and t.depth == 0), None
    )
    head = [t for t in found if opening is not None and into.end <= t.start < opening.start]
    if (
        opening is None
        or opening.start > on.start
        or any(t.text.upper() in ("VALUES", "SELECT", "WITH", "DEFAULT") for t in head)
    ):
        raise NoSingleStatement("the bulk upsert must name its columns: INSERT INTO t (a, b) ...")
    closing = next(t for t in found if t.start > opening.start and t.kind == ")" and t.depth == 0)
    alias_at = next((i for i, t in enumerate(head) if t.text.upper() == "AS"), None)
    table = sql[into.end : head[alias_at].start if alias_at is not None else opening.start].strip()
    target = head[alias_at + 1].text if alias_at is not None else _insert_target(found)
    if not table or any(t.kind not in ("word", "other") for t in head):
        raise NoSingleStatement("the bulk upsert's target is not a plain table name")
    inserted = [c.strip().strip('"') for c in sql[opening.end : closing.start].split(",")]
    source = sql[closing.end : on.start].strip()
    first = _first_word(tokens(source))
    if first not in ("VALUES", "SELECT", "WITH") or any(
        t.kind == "word" and t.text.upper() == "DEFAULT" for t in tokens(source)
    ):
        raise NoSingleStatement(
            "the bulk upsert's rows must be VALUES, SELECT or WITH ... SELECT, with no DEFAULT"
        )
    after_on = [t for t in found if t.start >= on.end]
    # ON CONFLICT (columns) DO UPDATE: an explicit column list, no index predicate.
    if len(after_on) < 2 or after_on[1].kind != "(":
        raise NoSingleStatement(
            "the bulk upsert's conflict target must be its columns, ON CONFLICT (a, b): "
            "ON CONFLICT ON CONSTRAINT names no columns the statement can lock by"
        )
    target_close = next(t for t in after_on[2:] if t.kind == ")" and t.depth == 0)
    conflict = [c.strip().strip('"') for c in sql[after_on[1].end : target_close.start].split(",")]
    rest = [t for t in after_on if t.start > target_close.start]
    if (
        not rest
        or rest[0].text.upper() != "DO"
        or len(rest) < 2
        or rest[1].text.upper() != "UPDATE"
    ):
        raise NoSingleStatement(
            "the bulk upsert's conflict target must be plain columns with no index predicate: "
            "ON CONFLICT (a, b) DO UPDATE"
        )
    do = rest[0]
    # A DO UPDATE that sets a conflict column moves the row away from the key the
    # statement locked it by: its old row could no longer be found.
    assignments = [t for t in rest[2:] if t.start < returning.start and t.depth == 0]
    for i, token in enumerate(assignments[:-1]):
        if token.kind == "word" and token.text.upper() == "WHERE":
            break
        follows = assignments[i + 1].text
        before = assignments[i - 1].text if i else ""
        if (
            token.kind == "word"
            and token.text.strip('"') in conflict
            and before != "."
            and follows == "="
        ) or (token.kind == "(" and i > 0 and before.upper() in ("SET", ",")):
            raise NoSingleStatement(
                "the bulk upsert's DO UPDATE must not set a conflict column (nor use the "
                "SET (a, b) = ... form)"
            )
    for column in conflict:
        if column not in columns or column not in inserted:
            raise NoSingleStatement(
                f"the conflict column {column!r} must be a column the bulk upsert inserts"
            )
    # The source's parameters take their declared types: in a CTE nothing else types them.
    typed = replace_params(source, lambda n: f"${n}::{params[n - 1].pg_type}")
    names = ", ".join(_ident(c) for c in inserted)
    src = f"audit_src ({names}) AS (\n{typed}\n)"
    aliases = tuple(f"audit_old_{i}" for i in range(len(columns)))
    by_column = dict(zip(columns, aliases, strict=True))
    selected = ", ".join(
        f"audit_t.{_ident(c)} AS {a}" for c, a in zip(columns, aliases, strict=True)
    )
    same = " AND ".join(f"audit_s.{_ident(c)} = audit_t.{_ident(c)}" for c in conflict)
    lock = (
        f"SELECT {selected} FROM {table} AS audit_t\n"
        f"WHERE EXISTS (SELECT FROM audit_src AS audit_s WHERE {same})\n"
        "FOR UPDATE OF audit_t"
    )
    guard = (
        "EXISTS (SELECT FROM audit_lock WHERE "
        + " AND ".join(
            f"audit_lock.{by_column[c]} = {_ident(target)}.{_ident(c)}" for c in conflict
        )
        + ")"
    )
    where = _top(found, "WHERE", do.end)
    if where is not None and where.start < returning.start:
        tail = (
            sql[on.start : where.end]
            + f" {guard} AND (\n"
            + sql[where.end : returning.start].rstrip()
            + "\n)\n"
            + sql[returning.start :]
        )
    else:
        tail = (
            sql[on.start : returning.start].rstrip() + f"\nWHERE {guard}\n" + sql[returning.start :]
        )
    mutation = sql[: closing.end] + f"\nSELECT {names} FROM audit_src\n" + tail

    # Every source row with no locked row goes the INSERT's way: it is inserted (and
    # comes back, with no locked row) or it met a row the lock could not see. Two
    # counts tell them apart (a key twice in the source fails the INSERT itself).
    def unlocked(alias: str) -> str:
        same_key = " AND ".join(f"audit_l.{by_column[c]} = {alias}.{_ident(c)}" for c in conflict)
        return f"NOT EXISTS (SELECT FROM audit_lock AS audit_l WHERE {same_key})"

    check = (
        "SELECT CASE WHEN audit_n.missed = 0 THEN 1\n"
        f"ELSE ({_literal(RACED)} || audit_n.missed)::regclass::oid::int END AS audit_ok\n"
        "FROM (SELECT (\n"
        f"  SELECT count(*) FROM audit_src AS audit_s WHERE {unlocked('audit_s')}\n"
        ") - (\n"
        f"  SELECT count(*) FROM audit_change AS audit_c WHERE {unlocked('audit_c')}\n"
        ") AS missed) AS audit_n"
    )
    return src, lock, mutation, check, aliases, tuple(conflict)


def derive(
    query: Query[Any],
    *,
    model: type[BaseModel],
    fields: Mapping[str, Field],
    statement: str,
    lookup: Query[Any] | None,
    lookup_args: tuple[int, ...],
    key: tuple[str, ...],
    resource_type: str,
    resource_id: str,
    resource_target: str | None,
    org: str | tuple[Query[Any], tuple[str, ...], str] | None,
    action: str,
    sink: Query[Any],
    created: str = "",
    old_new: bool = False,
) -> Statement:
    """The single-statement form of the audited ``query``.

    ``statement`` is INSERT, UPDATE, DELETE or UPSERT (``INSERT ... ON
    CONFLICT ... DO UPDATE``, whose inserted rows are recorded as ``created``
    and updated ones as ``action``); ``org`` a column of the row, or (query,
    row columns for its parameters, result column) found through another row.
    A one-row UPDATE and an upsert read their old row with ``lookup``; a bulk
    UPDATE (any kind but ``:one``) pairs old and new rows by ``key``; a bulk
    upsert (any kind but ``:one``, no lookup) reads and locks the existing rows
    its source names (see :func:`_bulk_upsert`). With ``old_new`` (PostgreSQL
    18) an UPDATE or upsert reads its old rows with ``RETURNING OLD`` instead:
    no lookup, no join.

    Raises:
        NoSingleStatement: the form cannot express this query, its sink or a field.
    """
    columns = tuple(model.model_fields)
    for column in columns:
        if column.startswith("audit_"):
            raise NoSingleStatement(f"column {column} collides with the statement's own names")
    mutation = query.sql.rstrip().rstrip(";")
    if query.kind in (Kind.EXEC, Kind.EXECROWS):
        if _top(tokens(mutation), "RETURNING") is not None:
            raise NoSingleStatement("an :exec or :execrows mutation must not return rows")
        mutation += "\nRETURNING *"
    old: Callable[[str], str] | None
    new: Callable[[str], str] | None
    lock = ""  # an upsert's locked lookup, a CTE of its own
    src = ""  # a bulk upsert's rows, a CTE of their own (before PostgreSQL 18)
    check = ""  # a bulk upsert's check that no row met a row it could not see
    source = "audit_change AS a"
    upsert = statement == "UPSERT"
    bulk_upsert = upsert and query.kind is not Kind.ONE
    if bulk_upsert:
        if lookup is not None or not created:
            raise NoSingleStatement("an audited bulk upsert has no old-row lookup")
        if old_new:
            mutation, aliases = _returning_old_new(mutation, columns, inserted=True)
        else:
            src, lock, mutation, check, aliases, conflict = _bulk_upsert(
                mutation, query.params, columns
            )
            by_alias = dict(zip(columns, aliases, strict=True))
            # Inserted: no locked row has its key (a NULL key never conflicts).
            joined = " AND ".join(f"l.{by_alias[c]} = c.{_ident(c)}" for c in conflict)
            source = (
                f"(SELECT c.*, l.*, l.{by_alias[conflict[0]]} IS NULL AS audit_inserted\n"
                f"FROM audit_change AS c LEFT JOIN audit_lock AS l\nON {joined}) AS a"
            )
        by_column = dict(zip(columns, aliases, strict=True))
        old = lambda c: f"a.{by_column[c]}"  # noqa: E731  # one-line column accessors
        new = lambda c: f"a.{_ident(c)}"  # noqa: E731
    elif upsert:
        if query.kind is not Kind.ONE or lookup is None or not created:
            raise NoSingleStatement(
                "an audited upsert is a :one ... RETURNING * with its old-row lookup"
            )
        if old_new:
            mutation, aliases = _returning_old_new(mutation, columns, inserted=True)
        else:
            lock, mutation, aliases = _upsert(mutation, columns, lookup, lookup_args, resource_id)
            by_alias = dict(zip(columns, aliases, strict=True))
            source = (
                "(SELECT c.*, l.*, l." + by_alias[resource_id] + " IS NULL AS audit_inserted\n"
                "FROM audit_change AS c LEFT JOIN audit_lock AS l\n"
                f"ON l.{by_alias[resource_id]} = c.{_ident(resource_id)}) AS a"
            )
        by_column = dict(zip(columns, aliases, strict=True))
        old = lambda c: f"a.{by_column[c]}"  # noqa: E731  # one-line column accessors
        new = lambda c: f"a.{_ident(c)}"  # noqa: E731
    elif statement == "UPDATE" and old_new:
        mutation, aliases = _returning_old_new(mutation, columns, inserted=False)
        by_column = dict(zip(columns, aliases, strict=True))
        old = lambda c: f"a.{by_column[c]}"  # noqa: E731
        new = lambda c: f"a.{_ident(c)}"  # noqa: E731
    elif statement == "UPDATE":
        if query.kind is Kind.ONE:
            if lookup is None:
                raise NoSingleStatement("an audited one-row UPDATE needs its old-row lookup")
            mutation, aliases = _update(mutation, columns, (lookup, lookup_args), (resource_id,))
        else:
            if not key:
                raise NoSingleStatement("an audited bulk UPDATE needs its key")
            mutation, aliases = _update(mutation, columns, None, key)
        by_column = dict(zip(columns, aliases, strict=True))
        old = lambda c: f"a.{by_column[c]}"  # noqa: E731  # one-line column accessors
        new = lambda c: f"a.{_ident(c)}"  # noqa: E731
    elif statement == "INSERT":
        _returning_star(mutation, tokens(mutation))
        old, new = None, lambda c: f"a.{_ident(c)}"
    elif statement == "DELETE":
        _returning_star(mutation, tokens(mutation))
        old, new = lambda c: f"a.{_ident(c)}", None
    else:
        raise NoSingleStatement(f"cannot audit a {statement} in one statement")
    diff = diff_sql(model, fields, old=old, new=new)
    if upsert:
        diff = (
            f"CASE WHEN a.audit_inserted THEN {diff_sql(model, fields, old=None, new=new)}\n"
            f"ELSE {diff} END"
        )

    def row(column: str) -> str:
        return f"a.{_ident(column)}"

    if org is None:
        org_sql = "NULL::uuid"
    elif isinstance(org, str):
        org_sql = row(org)
    else:
        via, via_columns, attribute = org
        via_sql = replace_params(via.sql.rstrip().rstrip(";"), lambda n: row(via_columns[n - 1]))
        org_sql = f"(SELECT v.{_ident(attribute)} FROM (\n{via_sql}\n) AS v LIMIT 1)"
    values = {
        "id": "gen_random_uuid()",
        "org_id": org_sql,
        "resource_type": _literal(resource_type),
        "resource_id": f"{row(resource_id)}::text",
        "resource_target": (
            f"COALESCE({row(resource_target)}::text, '')" if resource_target else "''"
        ),
        "action": _literal(str(action)),
        "diff": "a.audit_diff",
        "status_code": "200",
        "additional_fields": "'{}'::jsonb",
        "query": _literal(query.name),
    }
    changed = "a.audit_diff <> '{}'::jsonb"
    if upsert:
        # Two inserts of the sink, each with its action as a literal (the sink's
        # parameter type takes an untyped literal, not a CASE of them).
        creates, used = _sink(
            sink,
            {**values, "action": _literal(str(created))},
            "audit_rows",
            f"a.audit_inserted AND {changed}",
        )
        writes, _ = _sink(sink, values, "audit_rows", f"NOT a.audit_inserted AND {changed}")
        entries = f"{creates}\n),\naudit_writes AS (\n{writes}"
    else:
        entries, used = _sink(sink, values, "audit_rows", changed)
    start = len(query.params)
    for i, name in enumerate(used):
        entries = entries.replace(f"\x00{name}\x00", f"${start + i + 1}::{_BOUND[name][1]}")
    result = (
        ", ".join(_ident(c) for c in query.columns)  # the order the decoder reads
        if query.kind in (Kind.ONE, Kind.MANY)
        else "1"  # the command tag still counts the changed rows
    )
    sql = (
        "WITH "
        + (f"{src},\n" if src else "")
        + (f"audit_lock AS (\n{lock}\n),\n" if lock else "")
        + f"audit_change AS (\n{mutation}\n),\n"
        # OFFSET 0 keeps the planner from inlining the diff into both the sink's
        # WHERE and its values: it is built once a row.
        f"audit_rows AS (\nSELECT a.*, {diff} AS audit_diff\nFROM {source} OFFSET 0\n),\n"
        f"audit_entries AS (\n{entries}\n)"
        + (f",\naudit_check AS (\n{check}\n)" if check else "")
        + f"\nSELECT {result} FROM audit_change"
        # A condition of no row: evaluated once, before the first row, even when none
        # comes back; it fails the whole statement when a source row was left alone.
        + ("\nWHERE (SELECT audit_ok FROM audit_check) > 0" if check else "")
    )
    params = query.params + tuple(Param(_BOUND[f][0], _BOUND[f][1], True) for f in used)
    variant = derive_query(
        query, sql=sql, params=params, authorize_filter=query.authorize_filter, for_below=True
    )
    return Statement(
        variant, used, rerun_when_empty=bool(lock) and not check, rerun_when_raced=bool(check)
    )
