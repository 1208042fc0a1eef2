"""Hostile names and shapes: the generated package imports, type-checks and lints clean.

The corpus (``hostile/``) holds names that are valid PostgreSQL and awkward
Python: keywords, punctuation, labels that are only punctuation, clashes with
generated and imported names, every kind of column type. Its output is also
kept as golden files (``TXSTORE_UPDATE_GOLDEN=1`` refreshes them).
"""

from __future__ import annotations

import decimal
from pathlib import Path

import asyncpg

from store._gen import generate
from tests.store.gen._package import (
    assert_imports_type_checks_and_lints,
    assert_matches_golden,
    write_package,
)

HOSTILE = Path(__file__).parent / "hostile"
EXPECTED = HOSTILE / "expected"


async def _generate(dsn: str) -> dict[str, str]:
    files, _ = await generate(
        queries=HOSTILE / "queries", migration_dir=HOSTILE / "migrations", dsn=dsn, root=HOSTILE
    )
    return files


async def test_hostile_corpus_generates_code_that_imports_type_checks_and_lints(
    empty_db_dsn: str, tmp_path: Path
) -> None:
    package = write_package(await _generate(empty_db_dsn), tmp_path, "hostile_gen")
    await assert_imports_type_checks_and_lints(package)


async def test_hostile_corpus_matches_golden_files(empty_db_dsn: str) -> None:
    files = await _generate(empty_db_dsn)
    assert_matches_golden(files, EXPECTED)


async def test_composite_parameters_and_results_are_the_generated_model(
    empty_db_dsn: str,
) -> None:
    files = await _generate(empty_db_dsn)
    source = files["queries.py"]
    assert "pair: MoneyPair | None" in source
    assert "None if pair is None else _write_money_pair(pair)" in source
    assert "pair: MoneyPair | None" in files["models.py"]
    # What the generated code converts: asyncpg reads a record and writes a tuple.
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await conn.execute(
            "INSERT INTO oddities (id, during, pair, code) VALUES ($1, $2, $3, $4)",
            1,
            None,
            (decimal.Decimal("1.50"), "EUR"),
            "x",
        )
        pair = await conn.fetchval("SELECT pair FROM oddities WHERE id = 1")
        assert isinstance(pair, asyncpg.Record)
        assert tuple(pair) == (decimal.Decimal("1.50"), "EUR")
    finally:
        await conn.close()


async def test_anonymous_rows_are_typed_as_the_tuples_asyncpg_returns(empty_db_dsn: str) -> None:
    source = (await _generate(empty_db_dsn))["models.py"]
    assert "pair: tuple[object, ...]" in source
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        assert await conn.fetchval("SELECT ROW(1, 'a')") == (1, "a")
    finally:
        await conn.close()
