"""The committed schema dump: ``pg_dump --schema-only``, normalized to be stable."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from pathlib import Path

from migrations._dsn import Dsn
from migrations._files import decode_text
from migrations._runner import TABLE
from migrations.errors import MalformedDsn, SchemaDumpError, SchemaDumpStale

__all__ = ["check_schema_dump", "dump_schema", "normalize_dump"]

# Lines that change between runs, servers or pg_dump builds of one major version:
# version and date comments, session SETs, and the random-key \restrict guard
# that newer pg_dump releases write around the script.
_UNSTABLE = re.compile(
    r"^(?:SET |SELECT pg_catalog\.set_config\('search_path'|\\restrict\b|\\unrestrict\b"
    r"|-- Dumped (?:from|by) |-- Started on |-- Completed on |-- TOC entry |-- Dependencies: )"
)


def normalize_dump(text: str) -> str:
    """Drop unstable lines and collapse runs of blank lines; the result ends in one newline."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if _UNSTABLE.match(line):
            continue
        if not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def _run_pg_dump(text: str, out: Path, pg_dump: str) -> str:
    try:
        dsn = Dsn.parse(text)
    except MalformedDsn as exc:
        raise SchemaDumpError(out, str(exc)) from None
    # The password goes in PGPASSWORD, so it shows neither in the process list nor
    # in pg_dump's messages.
    secret = {"PGPASSWORD": dsn.password} if dsn.password is not None else {}
    command = [
        pg_dump,
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        f"--exclude-table={TABLE}",
        f"--dbname={dsn.without_password()}",
    ]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env={**os.environ, **secret},
        )
    except FileNotFoundError as exc:
        raise SchemaDumpError(
            out, f"{pg_dump} not found; install the PostgreSQL client of the server's version"
        ) from exc
    except (OSError, subprocess.SubprocessError) as exc:
        raise SchemaDumpError(out, f"cannot run {pg_dump}: {dsn.redact(str(exc))}") from None
    if result.returncode != 0:
        message = " ".join(result.stderr.split()) or f"exit status {result.returncode}"
        raise SchemaDumpError(out, dsn.redact(message))
    return normalize_dump(result.stdout)


def dump_schema(dsn: str, out: Path, *, pg_dump: str = "pg_dump") -> str:
    """Dump the schema of ``dsn`` to ``out`` (normalized, without the bookkeeping table).

    Returns the text written. Run it against a database migrated to head.

    Raises:
        SchemaDumpError: pg_dump is missing or failed (for example a server newer
            than pg_dump); the message carries pg_dump's error.
    """
    text = _run_pg_dump(dsn, out, pg_dump)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text


def check_schema_dump(dsn: str, out: Path, *, pg_dump: str = "pg_dump") -> None:
    """Fail when ``out`` differs from a fresh dump of ``dsn``; writes nothing.

    Raises:
        SchemaDumpStale: the file is missing or differs; ``diff`` holds a unified diff.
        SchemaDumpError: pg_dump is missing or failed.
        UndecodableFile: the committed dump is not UTF-8.
    """
    fresh = _run_pg_dump(dsn, out, pg_dump)
    current = decode_text(out, out.read_bytes()) if out.is_file() else ""
    if current != fresh:
        diff = "".join(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                fresh.splitlines(keepends=True),
                fromfile=str(out),
                tofile="database",
            )
        )
        raise SchemaDumpStale(out, diff)
