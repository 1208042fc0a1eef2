"""The generator's output for a small fixture schema, byte for byte.

Refresh the expected files with ``TXSTORE_UPDATE_GOLDEN=1 pytest tests/store/gen``.
"""

from __future__ import annotations

from pathlib import Path

from store._gen import generate
from tests.store.gen._package import assert_matches_golden

GOLDEN = Path(__file__).parent / "golden"
EXPECTED = GOLDEN / "expected"


async def test_generated_code_matches_golden_files(empty_db_dsn: str) -> None:
    files, dump = await generate(
        queries=GOLDEN / "queries",
        migration_dir=GOLDEN / "migrations",
        dsn=empty_db_dsn,
        root=GOLDEN,
    )
    assert dump is None
    assert_matches_golden(files, EXPECTED)


async def test_generation_is_deterministic(empty_db_dsn: str) -> None:
    runs = [
        await generate(
            queries=GOLDEN / "queries",
            migration_dir=GOLDEN / "migrations",
            dsn=empty_db_dsn,
            root=GOLDEN,
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


async def test_the_application_module_holds_none_of_the_tooling_tables(empty_db_dsn: str) -> None:
    files, _ = await generate(
        queries=GOLDEN / "queries",
        migration_dir=GOLDEN / "migrations",
        dsn=empty_db_dsn,
        root=GOLDEN,
    )
    # The migrations ledger exists in the database but belongs to txstore, not to the schema.
    assert "txstore_migrations" not in files["constraints.py"]
    assert "txstore_migrations" not in files["models.py"]
    assert "from store import Isolation, Kind, Param, Query, Store" in files["queries.py"]
    assert "store._" not in files["queries.py"]


async def test_a_filter_without_other_conditions_opens_the_where_clause(
    empty_db_dsn: str,
) -> None:
    files, _ = await generate(
        queries=GOLDEN / "queries",
        migration_dir=GOLDEN / "migrations",
        dsn=empty_db_dsn,
        root=GOLDEN,
    )
    listing = files["queries.py"].split("LIST_PETS: Query[Pet] = Query(")[1].split("\n)\n")[0]
    assert 'authorize_filter="pets"' in listing
    assert "SELECT * FROM pets\nWHERE TRUE /*authorize_filter*/\nORDER BY name" in listing
