"""Names: query names to method names, table names to model classes, labels to members.

The rules are explicit tables so a project can extend them: ``Naming`` holds the
word spellings (``oauth2`` -> ``OAuth2``), irregular singulars and whole-name
overrides; ``[tool.txstore.naming]`` in ``pyproject.toml`` adds to them.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_NAMING", "Naming", "snake_case", "upper_snake"]

# A word of a PascalCase name: known mixed-case words first, then acronyms
# (a run of capitals not followed by a lower-case letter), then ordinary words.
_WORD = re.compile(r"OAuth2|OAuth|IDs|[A-Z]+(?![a-z])\d*|[A-Z]?[a-z]+\d*|\d+")

_INITIALISMS: Mapping[str, str] = {
    "api": "API",
    "id": "ID",
    "ids": "IDs",
    "ip": "IP",
    "json": "JSON",
    "oauth": "OAuth",
    "oauth2": "OAuth2",
    "sql": "SQL",
    "url": "URL",
    "uri": "URI",
    "uuid": "UUID",
    "http": "HTTP",
}

_IRREGULAR: Mapping[str, str] = {
    "people": "person",
    "children": "child",
    "data": "data",
    "metadata": "metadata",
    "status": "status",
    "statuses": "status",
    "aliases": "alias",
}


def snake_case(name: str) -> str:
    """``GetUserByID`` -> ``get_user_by_id``; ``OAuth2App`` -> ``oauth2_app``."""
    words = _WORD.findall(name)
    return "_".join(w.lower() for w in words) if words else name.lower()


def upper_snake(name: str) -> str:
    """A valid UPPER_SNAKE identifier for a constraint name or enum label."""
    out = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").upper() or "EMPTY"
    if out[0].isdigit():
        out = "_" + out
    return out


@dataclass(frozen=True)
class Naming:
    """How table names become model class names.

    ``initialisms`` spells words (``{"api": "API"}``), ``irregular`` maps a
    plural word to its singular, ``models`` maps a whole table name to a class
    name and wins over everything else.
    """

    initialisms: Mapping[str, str] = field(default_factory=lambda: dict(_INITIALISMS))
    irregular: Mapping[str, str] = field(default_factory=lambda: dict(_IRREGULAR))
    models: Mapping[str, str] = field(default_factory=dict)

    def extended(self, table: Mapping[str, object]) -> Naming:
        """This naming plus the ``initialisms``/``irregular``/``models`` tables given.

        Raises:
            TypeError: a table is not a mapping of strings to strings.
        """

        def merged(base: Mapping[str, str], key: str) -> dict[str, str]:
            extra = table.get(key, {})
            if not isinstance(extra, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
            ):
                raise TypeError(f"[tool.txstore.naming] {key} must map strings to strings")
            return {**base, **extra}

        return Naming(
            initialisms=merged(self.initialisms, "initialisms"),
            irregular=merged(self.irregular, "irregular"),
            models=merged(self.models, "models"),
        )

    def singular(self, word: str) -> str:
        """The singular of one lower-case word (``users`` -> ``user``)."""
        if word in self.irregular:
            return self.irregular[word]
        for plural, single in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch")):
            if word.endswith(plural) and len(word) > len(plural):
                return word[: -len(plural)] + single
        for plural in ("shes", "zes"):
            if word.endswith(plural):
                return word[:-2]
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            return word[:-1]
        return word

    def pascal(self, snake: str) -> str:
        """``oauth2_provider_app`` -> ``OAuth2ProviderApp``."""
        return "".join(
            self.initialisms.get(w, w[:1].upper() + w[1:]) for w in snake.split("_") if w
        )

    def model_name(self, table: str) -> str:
        """The model class of a table: singular PascalCase (``api_keys`` -> ``APIKey``)."""
        if table in self.models:
            return self.models[table]
        words = table.split("_")
        words[-1] = self.singular(words[-1])
        return self.pascal("_".join(words))

    def enum_name(self, type_name: str) -> str:
        """The ``StrEnum`` class of a PostgreSQL enum type (``user_role`` -> ``UserRole``)."""
        return self.models.get(type_name) or self.pascal(type_name)


def python_identifier(name: str) -> str:
    """``name`` usable as a Python parameter or field (``from`` -> ``from_``)."""
    return name + "_" if keyword.iskeyword(name) or name == "self" else name


DEFAULT_NAMING = Naming()
