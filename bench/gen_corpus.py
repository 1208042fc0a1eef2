"""``txstore gen`` on a generated stress corpus: 150 tables, 1,000 queries.

Run ``python -m bench.gen_corpus`` (``--tables``, ``--queries``, ``--keep DIR``).
It writes a schema (tables with foreign keys, enums, nullable and NOT NULL
columns) and query files mixing ``$n``, ``@name`` and ``sqlc.arg``, joins,
aggregates and ``RETURNING``, then times one whole ``txstore gen`` run: the
throw-away PostgreSQL included, as a developer would run it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from store._gen._generate import generate, server_dsn

__all__ = ["main", "write_corpus"]

_TYPES = ("text", "bigint", "int", "numeric", "timestamptz", "boolean", "uuid", "jsonb", "date")


def _schema(tables: int, rng: random.Random) -> str:
    out = ["CREATE TYPE item_state AS ENUM ('new', 'active', 'archived');"]
    for t in range(tables):
        cols = ["id bigint PRIMARY KEY", "name text NOT NULL", "state item_state NOT NULL"]
        if t:
            cols.append(f"parent_id bigint REFERENCES t{rng.randrange(t):03d} (id)")
        for c in range(rng.randint(3, 9)):
            null = "" if rng.random() < 0.5 else " NOT NULL"
            cols.append(f"c{c} {rng.choice(_TYPES)}{null}")
        cols.append("created_at timestamptz NOT NULL DEFAULT now()")
        out.append(f"CREATE TABLE t{t:03d} (\n    " + ",\n    ".join(cols) + "\n);")
        out.append(f"CREATE INDEX t{t:03d}_name ON t{t:03d} (name);")
    return "\n\n".join(out) + "\n"


def _query(i: int, tables: int, rng: random.Random) -> str:
    t = rng.randrange(1, tables)
    name = f"t{t:03d}"
    shape = i % 8
    if shape == 0:
        return f"-- name: Get{name.upper()}Q{i} :one\nSELECT * FROM {name} WHERE id = $1;\n"
    if shape == 1:
        return (
            f"-- name: List{name.upper()}Q{i} :many\nSELECT id, name, c0 FROM {name}\n"
            "WHERE state = @state AND created_at > $1 ORDER BY id LIMIT $2;\n"
        )
    if shape == 2:
        return (
            f"-- name: Join{name.upper()}Q{i} :many\n"
            f"SELECT a.id, a.name, p.name AS parent_name, p.state\n"
            f"FROM {name} a LEFT JOIN {name} p ON p.id = a.parent_id\n"
            "WHERE a.id = ANY(sqlc.arg(ids)::bigint[]) ORDER BY a.id;\n"
        )
    if shape == 3:
        return (
            f"-- name: Count{name.upper()}PerStateQ{i} :many\n"
            f"SELECT state, count(*) AS n, max(created_at) AS latest\n"
            f"FROM {name} GROUP BY state ORDER BY state;\n"
        )
    if shape == 4:
        return (
            f"-- name: Insert{name.upper()}Q{i} :one\n"
            f"INSERT INTO {name} (id, name, state) VALUES ($1, $2, $3) RETURNING *;\n"
        )
    if shape == 5:
        return (
            f"-- name: Rename{name.upper()}Q{i} :execrows\n"
            f"UPDATE {name} SET name = $2 WHERE id = $1;\n"
        )
    if shape == 6:
        return f"-- name: Delete{name.upper()}Q{i} :exec\nDELETE FROM {name} WHERE id = @id;\n"
    return (
        f"-- name: Stats{name.upper()}Q{i} :one\n"
        f"SELECT count(*) AS n, count(*) FILTER (WHERE state = 'active') AS active,\n"
        f"       coalesce(max(name), '') AS last_name\nFROM {name} WHERE parent_id = $1;\n"
    )


def write_corpus(root: Path, *, tables: int = 150, queries: int = 1000, seed: int = 14) -> None:
    """Write ``migrations/`` and ``queries/`` of the stress corpus under ``root``."""
    rng = random.Random(seed)  # noqa: S311  # a reproducible corpus, not a secret
    (root / "migrations").mkdir(parents=True, exist_ok=True)
    (root / "queries").mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "000001_stress.up.sql").write_text(_schema(tables, rng))
    (root / "migrations" / "000001_stress.down.sql").write_text("SELECT 1;\n")
    per_file = 50
    for start in range(0, queries, per_file):
        body = "\n".join(
            _query(i, tables, rng) for i in range(start, min(queries, start + per_file))
        )
        (root / "queries" / f"q{start // per_file:03d}.sql").write_text(body)


def _cpu() -> float:
    """CPU seconds of this process and its finished children (ruff, the server)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


async def _run(root: Path) -> tuple[float, float, float, int]:
    started, cpu = time.perf_counter(), _cpu()
    async with server_dsn(None) as dsn:
        ready = time.perf_counter()
        files, _ = await generate(
            queries=root / "queries", migration_dir=root / "migrations", dsn=dsn, root=root
        )
    done = time.perf_counter()
    return done - started, done - ready, _cpu() - cpu, sum(len(t) for t in files.values())


def main() -> None:
    """Write the corpus, run ``txstore gen`` on it once, print the times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=150)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        write_corpus(root, tables=args.tables, queries=args.queries)
        total, gen, cpu, size = asyncio.run(_run(root))
    print(
        f"txstore gen: {args.queries} queries over {args.tables} tables in {total:.2f} s "
        f"(server start included; {gen:.2f} s after it), "
        f"{1000 * total / args.queries:.2f} ms per query, {size // 1024} KiB written; "
        f"CPU {cpu:.2f} s in this process and its children (load average "
        f"{os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
