"""The hand-written batch queries of tests/_batches.py are what ``txstore gen`` writes.

The reference application declares no batch query of its own, so the layers'
batch tests build theirs by hand; this generates the same queries from
tests/batches/batches.sql over the application's migrations and compares
every field the layers read, so the hand-written ones cannot drift from the
generator's shape.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from store import Query

from tests._batches import BATCHES

APP = Path(__file__).resolve().parents[1]
TXSTORE = Path(sys.executable).parent / "txstore"


def _compared(query: Query[object]) -> tuple[object, ...]:
    return (
        query.name,
        query.kind,
        " ".join(query.sql.split()),
        query.params,
        query.columns,
        query.tables,
        query.mutates,
        query.authorize_filter,
    )


async def test_each_hand_written_batch_query_is_the_generated_one(
    empty_db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A project of its own: the application's migrations, these queries, `txstore gen`.
    project = tmp_path / "project"
    (project / "queries").mkdir(parents=True)
    shutil.copy(APP / "tests" / "batches" / "batches.sql", project / "queries")
    migrations = (APP / "db" / "migrations").as_posix()
    (project / "pyproject.toml").write_text(
        "[tool.txstore]\n"
        f'migrations = "{migrations}"\n'
        'queries = "queries"\n'
        'schema_dump = "schema.sql"\n'
        'generated = "batches_gen"\n',
        encoding="utf-8",
    )
    generated = await asyncio.to_thread(
        subprocess.run,
        [str(TXSTORE), "gen", "--root", str(project), "--dsn", empty_db_dsn],
        capture_output=True,
        text=True,
        check=False,
    )
    assert generated.returncode == 0, generated.stderr
    monkeypatch.syspath_prepend(str(project))
    queries = importlib.import_module("batches_gen.queries").QUERIES
    assert sorted(queries) == sorted(BATCHES)
    for name, written in BATCHES.items():
        assert _compared(written) == _compared(queries[name]), name
