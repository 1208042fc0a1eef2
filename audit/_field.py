"""How one field of an auditable model is recorded, and the shape of a table problem."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel

__all__ = ["IGNORE", "SECRET", "TRACK", "Auditable", "Field", "Problem"]


class Field(enum.Enum):
    """The audit classification of one model field."""

    TRACK = "track"  # old and new values are recorded
    IGNORE = "ignore"  # never recorded; a change of only these fields writes no entry
    # recorded as "changed", never with a value
    SECRET = "secret"  # noqa: S105  # a classification name, not a password


TRACK = Field.TRACK
IGNORE = Field.IGNORE
SECRET = Field.SECRET

#: A classification, with the reason when it is not obvious.
Entry = Field | tuple[Field, str]


@dataclass(frozen=True, slots=True)
class Auditable:
    """Every field of one auditable table's row model, classified."""

    table: str
    model: type[BaseModel]
    fields: Mapping[str, Entry]

    def classification(self) -> dict[str, Field]:
        """Field name -> classification, reasons dropped."""
        return {
            name: entry if isinstance(entry, Field) else entry[0]
            for name, entry in self.fields.items()
        }


@dataclass(frozen=True, slots=True)
class Problem:
    """One incomplete or stale entry: the file and line to edit, and what to do."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"
