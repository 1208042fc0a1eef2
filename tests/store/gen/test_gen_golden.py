"""The generator's output for a small fixture schema, byte for byte.

Refresh the expected files with ``TXSTORE_UPDATE_GOLDEN=1 pytest tests/store/gen``.
"""

from __future__ import annotations

import os
from pathlib import Path

from store._gen import generate

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
    if os.environ.get("TXSTORE_UPDATE_GOLDEN"):
        for name, text in files.items():
            (EXPECTED / f"{name}.golden").write_text(text, encoding="utf-8")
    expected = {p.name.removesuffix(".golden"): p.read_text() for p in EXPECTED.glob("*.golden")}
    assert sorted(files) == sorted(expected)
    for name, text in files.items():
        assert text == expected[name], f"{name} differs; TXSTORE_UPDATE_GOLDEN=1 refreshes it"


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
