"""The vocabulary of audit declarations: which mutations are audited, and how."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Audited", "Lookup", "Resource", "Unaudited", "Via"]


@dataclass(frozen=True, slots=True)
class Via:
    """Find a value through another ``:one`` query: ``query(**{param: row.attr})``.attribute.

    ``args`` maps the query's parameters to attributes of the audited row;
    a parameter not listed takes the row attribute of the same name.
    """

    query: str
    attribute: str
    args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resource:
    """How an audited table's row names itself in an entry.

    ``type`` is the entry's ``resource_type``; ``id``, ``target`` (a human
    readable name) and ``org`` (the tenant the entry belongs to, recorded as
    ``org_id``) are attributes of the row, or for ``org`` a :class:`Via`
    lookup when the row only points at it.
    """

    type: str
    id: str = "id"
    target: str | None = None
    org: str | Via | None = None


@dataclass(frozen=True, slots=True)
class Lookup:
    """The ``:one`` query that reads the row a mutation is about to change.

    It runs in the mutation's transaction and locks the row, so concurrent
    changes of one row are recorded one after the other and each entry's old
    values are the previous entry's new ones. ``lock`` is the name of a
    declared lock query (a ``SELECT ... FOR UPDATE`` with the same parameters),
    or True (the default) to run ``query`` with ``FOR UPDATE`` appended, or
    False to read without a lock. ``args`` maps the lookup's parameters to the
    mutation's parameters where their names differ.
    """

    query: str
    args: Mapping[str, str] = field(default_factory=dict)
    lock: bool | str = True


@dataclass(frozen=True, slots=True)
class Audited:
    """Record an entry for each row this mutation changes.

    ``action`` is one of the application's audit actions (a string, or a
    member of its string enum). An ``INSERT`` is the configuration's create
    action with no ``old``; a ``DELETE`` its delete action with no ``old``
    (the returned row is the old one); a one-row ``UPDATE`` (``:one ...
    RETURNING *``) names the ``old`` lookup (a soft delete is an ``UPDATE``
    with the delete action). An upsert (``INSERT ... ON CONFLICT ... DO
    UPDATE``, ``:one ... RETURNING *``) is declared as a one-row ``UPDATE``,
    its ``old`` lookup reading the row its conflict target names; the rows it
    inserts are recorded with the create action. ``ON CONFLICT DO NOTHING`` is
    a plain ``INSERT``.

    A bulk mutation (``:exec``, ``:execrows``, or ``:many ... RETURNING *``)
    writes one entry per row in the same statement. A bulk ``UPDATE`` names
    ``key``, the columns that identify one row (its primary key): the
    statement locks and reads the old rows its own ``WHERE`` selects and pairs
    them with the new ones by ``key``.
    """

    action: str
    old: Lookup | None = None
    key: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unaudited:
    """Run this mutation without an entry, for the stated reason."""

    reason: str
