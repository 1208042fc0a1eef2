"""Field changes between two versions of a row, secrets without their values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, JsonValue
from pydantic_core import to_jsonable_python

from audit._classify import require_classified
from audit._field import Field

__all__ = ["Change", "diff", "diff_json", "to_json"]


@dataclass(frozen=True, slots=True)
class Change:
    """How one field changed: JSON values, or only ``secret=True`` for a secret field.

    ``old`` is None for a created row and ``new`` for a deleted one. A secret
    change never carries a value, a hash or a prefix.
    """

    old: JsonValue = None
    new: JsonValue = None
    secret: bool = False

    def to_json(self) -> dict[str, JsonValue]:
        """``{"old": ..., "new": ...}``, or ``{"secret": true}`` for a secret field."""
        if self.secret:
            return {"secret": True}
        return {"old": self.old, "new": self.new}

    def __repr__(self) -> str:
        if self.secret:
            return "Change(secret=True)"
        return f"Change(old={self.old!r}, new={self.new!r})"


_SECRET = Change(secret=True)


def to_json(value: object) -> JsonValue:
    """``value`` as JSON: datetimes in ISO 8601; UUIDs, addresses, enums as text; bytes base64."""
    converted: JsonValue = to_jsonable_python(value, bytes_mode="base64")
    return converted


def _same(before: object, after: object) -> bool:
    """``==``, except that a boolean never equals a number, at any depth.

    Python has ``True == 1``, so a JSON field changing from ``1`` to ``true``
    would compare unchanged; PostgreSQL's ``jsonb`` equality (the single
    statement's diff) tells them apart, and so does this.
    """
    if isinstance(before, bool) or isinstance(after, bool):
        return type(before) is type(after) and before == after
    if isinstance(before, dict) and isinstance(after, dict):
        return before.keys() == after.keys() and all(_same(v, after[k]) for k, v in before.items())
    if isinstance(before, list) and isinstance(after, list):
        return len(before) == len(after) and all(map(_same, before, after))
    return before == after


def diff(
    old: BaseModel | None,
    new: BaseModel | None,
    *,
    fields: Mapping[str, Field],
) -> dict[str, Change]:
    """The ``TRACK`` and ``SECRET`` fields that differ between ``old`` and ``new``.

    ``old`` is None for a create and ``new`` for a delete; then every tracked
    and secret field appears. An unchanged field and every ``IGNORE`` field are
    left out, so an empty result means nothing worth an entry changed. Values
    are JSON-ready; a secret field appears as ``Change(secret=True)``.
    ``fields`` is the model's classification (``audit.Config.classification_of``
    finds it in the application's table; ``Config.diff`` does both).

    Raises:
        TypeError: both rows are None, or they are of different models.
        UnclassifiedField: the model has a field ``fields`` does not classify.
    """
    if old is None and new is None:
        raise TypeError("diff needs at least one row")
    if old is not None and new is not None and type(old) is not type(new):
        raise TypeError(f"cannot diff a {type(old).__name__} with a {type(new).__name__}")
    row = new if new is not None else old
    assert row is not None
    model = type(row)
    classified = require_classified(model, fields)
    changes: dict[str, Change] = {}
    for name in model.model_fields:
        kind = classified[name]
        if kind is Field.IGNORE:
            continue
        before: Any = getattr(old, name) if old is not None else None
        after: Any = getattr(new, name) if new is not None else None
        if old is not None and new is not None and _same(before, after):
            continue
        if kind is Field.SECRET:
            changes[name] = _SECRET
        else:
            changes[name] = Change(old=to_json(before), new=to_json(after))
    return changes


def diff_json(changes: Mapping[str, Change]) -> dict[str, JsonValue]:
    """A diff as the JSON object an audit table stores."""
    return {name: change.to_json() for name, change in changes.items()}
