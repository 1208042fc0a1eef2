"""Split a SQL script into statements, keeping where each one starts.

Used to run ``-- txstore:no-transaction`` files one statement at a time and to
name the failing statement of a script, and to find statements that would end
or replace the transaction a migration runs in. The scanner understands what can hide a
semicolon: ``--`` and nested ``/* */`` comments, quoted strings (``'...'``,
``E'...'`` with backslash escapes), quoted identifiers, dollar-quoted bodies and
SQL-standard ``BEGIN ATOMIC ... END`` function bodies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Statement", "line_at", "split_statements", "transaction_control"]

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")
_ROUTINE_START = re.compile(r"create\s+(or\s+replace\s+)?(function|procedure)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """One statement: ``text`` is ``script[start:end]``, ``line`` is 1-based."""

    text: str
    start: int
    end: int
    line: int


def line_at(script: str, offset: int) -> int:
    """The 1-based line number of character ``offset`` in ``script``."""
    return script.count("\n", 0, max(offset, 0)) + 1


def _skip_block_comment(script: str, i: int) -> int:
    depth = 0
    n = len(script)
    while i < n:
        if script.startswith("/*", i):
            depth += 1
            i += 2
        elif script.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _skip_quoted(script: str, i: int, quote: str, backslash: bool) -> int:
    """``i`` is just past the opening quote; returns the index past the closing one."""
    n = len(script)
    while i < n:
        ch = script[i]
        if backslash and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if i + 1 < n and script[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _escape_string(script: str, quote: int) -> bool:
    """Whether the quote at ``quote`` opens an ``E'...'`` string (backslash escapes)."""
    if quote < 1 or script[quote - 1] not in "eE":
        return False
    before = script[quote - 2] if quote >= 2 else " "
    return not (before.isalnum() or before in "_$")


def split_statements(script: str, *, standard_strings: bool = True) -> list[Statement]:
    """Statements of ``script`` in order; comment-only and empty pieces are dropped.

    A statement's text runs from its first significant character up to (not
    including) its terminating semicolon. ``standard_strings`` is the session's
    ``standard_conforming_strings``: when it is off, PostgreSQL reads a backslash
    in a plain ``'...'`` string as an escape, and so does this scanner.
    """
    statements: list[Statement] = []
    n = len(script)
    i = 0
    start: int | None = None  # first significant character of the current statement
    words: list[str] = []  # leading words, to recognise CREATE FUNCTION / PROCEDURE
    routine = False
    depth = 0  # BEGIN ATOMIC / CASE nesting inside a routine body
    parens = 0  # a CREATE RULE action list holds semicolons inside parentheses

    def finish(end: int) -> None:
        nonlocal start, words, routine, depth, parens
        if start is not None:
            text = script[start:end].rstrip()
            statements.append(Statement(text, start, start + len(text), line_at(script, start)))
        start, words, routine, depth, parens = None, [], False, 0, 0

    while i < n:
        ch = script[i]
        if ch.isspace():
            i += 1
            continue
        if script.startswith("--", i):
            newline = script.find("\n", i)
            i = n if newline < 0 else newline + 1
            continue
        if script.startswith("/*", i):
            i = _skip_block_comment(script, i)
            continue
        if start is None and ch != ";":
            start = i
        if ch == ";":
            if depth == 0 and parens == 0:
                finish(i)
            i += 1
        elif ch in "()":
            parens = parens + 1 if ch == "(" else max(parens - 1, 0)
            i += 1
        elif ch == "'":
            backslash = not standard_strings or _escape_string(script, i)
            i = _skip_quoted(script, i + 1, "'", backslash=backslash)
        elif ch == '"':
            i = _skip_quoted(script, i + 1, '"', backslash=False)
        elif ch == "$" and (match := _DOLLAR_TAG.match(script, i)):
            close = script.find(match.group(0), match.end())
            i = n if close < 0 else close + len(match.group(0))
        elif match := _WORD.match(script, i):
            word = match.group(0).lower()
            if len(words) < 4:
                words.append(word)
                routine = routine or bool(_ROUTINE_START.match(" ".join(words)))
            if routine:
                if word in ("begin", "case"):
                    depth += 1
                elif word == "end" and depth > 0:
                    depth -= 1
            i = match.end()
        else:
            i += 1
    finish(n)
    return statements


# The first word of every statement that begins, ends or splits a transaction:
# BEGIN / START TRANSACTION, COMMIT / END (also AND CHAIN, COMMIT PREPARED),
# ROLLBACK / ABORT (also AND CHAIN, TO SAVEPOINT, ROLLBACK PREPARED), SAVEPOINT,
# RELEASE [SAVEPOINT]. PREPARE is one only when followed by TRANSACTION.
_TRANSACTION_WORDS = frozenset(
    ("begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release")
)


def _leading_words(text: str, count: int) -> list[str]:
    """The first ``count`` tokens of ``text`` (lower-cased words, or single characters)."""
    words: list[str] = []
    i, n = 0, len(text)
    while i < n and len(words) < count:
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif text.startswith("/*", i):
            i = _skip_block_comment(text, i)
        elif match := _WORD.match(text, i):
            words.append(match.group(0).lower())
            i = match.end()
        else:
            words.append(text[i])
            i += 1
    return words


def transaction_control(statements: list[Statement]) -> Statement | None:
    """The first statement that begins, ends, or splits a transaction, if any.

    Statements inside function bodies and ``DO`` blocks are not looked at: they
    are part of one top-level statement, and PostgreSQL refuses a COMMIT there
    when the call runs inside a transaction block.
    """
    for statement in statements:
        words = _leading_words(statement.text, 3)
        if not words:
            continue
        if words[0] in _TRANSACTION_WORDS:
            return statement
        if words[:2] == ["prepare", "transaction"] and words[2:3] not in (["as"], ["("]):
            return statement
    return None
