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

__all__ = [
    "DEFAULT_NAMING",
    "Naming",
    "identifier",
    "snake_case",
    "unique_names",
    "upper_snake",
]

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


def upper_snake(name: str, fallback: str = "EMPTY") -> str:
    """A valid UPPER_SNAKE identifier for a constraint name or enum label.

    Characters other than ASCII letters and digits become ``_``; a name left
    empty (``#``, ``*``) becomes ``fallback``; one starting with a digit gets a
    leading ``_``.
    """
    out = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").upper() or fallback
    if out[0].isdigit():
        out = "_" + out
    return out


def identifier(text: str, prefix: str, reserved: frozenset[str] = frozenset()) -> str:
    """``text`` as a lower-case-safe Python identifier, predictably.

    Runs of characters other than ASCII letters, digits and ``_`` become one
    ``_``; leading and trailing ``_`` go (pydantic treats ``_x`` as private);
    an empty result is ``prefix``, one starting with a digit gets ``prefix_``
    in front; a keyword, ``self`` or a name in ``reserved`` gets a trailing ``_``.
    """
    out = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_")
    if not out:
        out = prefix
    elif out[0].isdigit():
        out = f"{prefix}_{out}"
    if keyword.iskeyword(out) or keyword.issoftkeyword(out) or out == "self" or out in reserved:
        out += "_"
    return out


def unique_names(names: list[str], taken: set[str] | None = None, sep: str = "_") -> list[str]:
    """``names`` with repeats made distinct: the second ``x`` is ``x_2``, the third ``x_3``.

    ``taken`` holds names already used elsewhere (they are avoided, and the
    result is added to it).
    """
    used = taken if taken is not None else set()
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{name}{sep}{n}"
        used.add(candidate)
        out.append(candidate)
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
        """``oauth2_provider_app`` -> ``OAuth2ProviderApp``; other punctuation splits words too."""
        return "".join(
            self.initialisms.get(w, w[:1].upper() + w[1:])
            for w in re.split(r"[^0-9A-Za-z]+", snake)
            if w
        )

    def model_name(self, table: str) -> str:
        """The model class of a table: singular PascalCase (``api_keys`` -> ``APIKey``)."""
        if table in self.models:
            return self.models[table]
        words = [w for w in re.split(r"[^0-9A-Za-z]+", table) if w] or ["table"]
        words[-1] = self.singular(words[-1])
        return _class_name(self.pascal("_".join(words)), "Table")

    def enum_name(self, type_name: str) -> str:
        """The ``StrEnum`` class of a PostgreSQL enum type (``user_role`` -> ``UserRole``)."""
        return self.models.get(type_name) or _class_name(self.pascal(type_name), "Enum")

    def composite_name(self, type_name: str) -> str:
        """The model class of a composite type (``money_pair`` -> ``MoneyPair``).

        Like an enum's: PascalCase of the type name, not made singular; one
        starting with a digit gets ``Type`` in front; ``models`` wins.
        """
        return self.models.get(type_name) or _class_name(self.pascal(type_name), "Type")


def _class_name(name: str, prefix: str) -> str:
    if not name:
        return prefix
    if name[0].isdigit():
        return prefix + name
    return name + "_" if keyword.iskeyword(name) else name


DEFAULT_NAMING = Naming()
