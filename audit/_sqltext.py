"""A small lexer for the SQL the audit layer rewrites: top-level keywords and ``$n`` parameters.

It knows what hides a keyword or a parameter from the statement (string
literals, quoted identifiers, dollar quotes, comments, parentheses) and
nothing else: the rewrites that use it only splice text at positions it
finds, and PostgreSQL parses the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Token", "conflict_action", "replace_params", "tokens"]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_PARAM = re.compile(r"\$(\d+)")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True, slots=True)
class Token:
    """A word, ``$n`` parameter or parenthesis, with its position and nesting depth."""

    kind: str  # "word", "param", "(", ")", "other"
    start: int
    end: int
    depth: int
    text: str


def tokens(sql: str) -> list[Token]:
    """The tokens of ``sql`` outside literals and comments.

    Raises:
        ValueError: a literal, quoted identifier or comment is not closed.
    """
    out: list[Token] = []
    i, n, depth = 0, len(sql), 0
    while i < n:
        c = sql[i]
        if c in " \t\r\n":
            i += 1
        elif c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif c == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated comment")
            i = end + 2
        elif c == "'":
            escapes = i > 0 and sql[i - 1] in "eE" and (i < 2 or not sql[i - 2].isalnum())
            i = _quoted(sql, i, "'", escapes)
        elif c == '"':
            i = _quoted(sql, i, '"', False)
        elif c == "$":
            param = _PARAM.match(sql, i)
            if param is not None:
                out.append(Token("param", i, param.end(), depth, param.group(0)))
                i = param.end()
                continue
            tag = _DOLLAR.match(sql, i)
            if tag is None:
                i += 1
                continue
            end = sql.find(tag.group(0), tag.end())
            if end < 0:
                raise ValueError("unterminated dollar quote")
            i = end + len(tag.group(0))
        elif c == "(":
            out.append(Token("(", i, i + 1, depth, c))
            depth += 1
            i += 1
        elif c == ")":
            depth -= 1
            out.append(Token(")", i, i + 1, depth, c))
            i += 1
        else:
            word = _WORD.match(sql, i)
            if word is not None:
                out.append(Token("word", i, word.end(), depth, word.group(0)))
                i = word.end()
            else:
                out.append(Token("other", i, i + 1, depth, c))
                i += 1
    return out


def _quoted(sql: str, i: int, quote: str, escapes: bool) -> int:
    j = i + 1
    while True:
        end = sql.find(quote, j)
        if end < 0:
            raise ValueError("unterminated literal")
        if escapes and _backslashes_before(sql, end) % 2 == 1:
            j = end + 1
            continue
        if sql.startswith(quote * 2, end):
            j = end + 2
            continue
        return end + 1


def _backslashes_before(sql: str, end: int) -> int:
    count = 0
    while end - count - 1 >= 0 and sql[end - count - 1] == "\\":
        count += 1
    return count


def replace_params(sql: str, by: Callable[[int], str]) -> str:
    """``sql`` with each ``$n`` parameter outside literals replaced by ``by(n)``.

    Raises:
        ValueError: as :func:`tokens`.
    """
    parts: list[str] = []
    last = 0
    for token in tokens(sql):
        if token.kind == "param":
            parts.append(sql[last : token.start])
            parts.append(by(int(token.text[1:])))
            last = token.end
    parts.append(sql[last:])
    return "".join(parts)


def conflict_action(sql: str) -> str | None:
    """``"UPDATE"`` or ``"NOTHING"`` for an ``INSERT ... ON CONFLICT ... DO <action>``; else None.

    Raises:
        ValueError: as :func:`tokens`.
    """
    words = [t for t in tokens(sql) if t.depth == 0 and t.kind == "word"]
    if not words or words[0].text.upper() != "INSERT":
        return None
    upper = [w.text.upper() for w in words]
    for i in range(len(upper) - 1):
        if upper[i] == "ON" and upper[i + 1] == "CONFLICT":
            for j in range(i + 2, len(upper) - 1):
                if upper[j] == "DO" and upper[j + 1] in ("UPDATE", "NOTHING"):
                    return upper[j + 1]
    return None
