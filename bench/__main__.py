"""``python -m bench``: every contender, one process each, same server and data, one run.

Starts a local PostgreSQL, migrates and seeds it, runs each contender in its
own process (asyncio and uvloop), prints a table of medians and ratios, and
with ``--write`` writes it to ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg

import migrations
from bench._contenders import BULK_ROWS, CONTENDERS, NOW
from bench._layers import LAYERED
from store._config import load_config
from store._localpg import TEST_SETTINGS, LocalCluster

OPS = {
    "pk": "primary-key lookup",
    "list10": "10-row list (authorized: filtered in SQL)",
    "insert": "insert one row",
    "tx2": "2-statement transaction",
    "authz_read": "authorized read (owner)",
    "audited_update": "audited update",
    "bulk_update": "bulk update, 1,000 rows (audited: 1,000 entries)",
}
#: Operations run sequentially only, and fewer times: each changes BULK_ROWS rows.
BULK_OPS = frozenset({"bulk_update"})
#: The writes whose round trips are counted, and who is counted.
COUNTED_OPS = ("insert", "audited_update", "bulk_update")
COUNTED = ("txstore-pg-layered", "txstore-full", "sqlalchemy-orm", "asyncpg-by-hand")
BASELINES = ("asyncpg-held", "asyncpg-pool", "asyncpg-by-hand")


async def seed(dsn: str, users: int = 200, listed: int = 20) -> dict[str, Any]:
    await migrations.up(dsn, directory=load_config().migrations)
    conn = await asyncpg.connect(dsn)
    try:
        org = uuid.uuid4()
        await conn.execute(
            "INSERT INTO organizations (id, name, display_name, description, icon, is_default,"
            " created_at, updated_at) VALUES ($1, 'bench', 'Bench', '', '', false, $2, $2)",
            org,
            NOW,
        )
        ids = [uuid.uuid4() for _ in range(users)]
        await conn.executemany(
            "INSERT INTO users (id, email, username, name, hashed_password, status, rbac_roles,"
            " login_type, created_at, updated_at) VALUES ($1, $2, $3, $3, '\\x00', 'active',"
            " '{member}', 'password', $4, $4)",
            [(u, f"u{n}@bench.example", f"user{n}", NOW) for n, u in enumerate(ids)],
        )
        await conn.executemany(
            "INSERT INTO organization_members (organization_id, user_id, roles, created_at,"
            " updated_at) VALUES ($1, $2, '{org-member}', $3, $3)",
            [(org, u, NOW) for u in ids],
        )
        workspaces = [uuid.uuid4() for _ in range(listed)]
        await conn.executemany(
            "INSERT INTO workspaces (id, owner_id, organization_id, name, last_used_at,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $5)",
            [
                (w, ids[0], org, f"listed{n}", NOW + datetime.timedelta(seconds=n))
                for n, w in enumerate(workspaces)
            ],
        )
        bulk_org = uuid.uuid4()
        await conn.execute(
            "INSERT INTO organizations (id, name, display_name, description, icon, is_default,"
            " created_at, updated_at) VALUES ($1, 'bulk', 'Bulk', '', '', false, $2, $2)",
            bulk_org,
            NOW,
        )
        await conn.executemany(
            "INSERT INTO workspaces (id, owner_id, organization_id, name, last_used_at,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $5)",
            [(uuid.uuid4(), ids[0], bulk_org, f"bulk{n}", NOW) for n in range(BULK_ROWS)],
        )
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return {
        "org_id": str(org),
        "user_ids": [str(u) for u in ids],
        "list_owner_id": str(ids[0]),
        "workspace_ids": [str(w) for w in workspaces],
        "bulk_org_id": str(bulk_org),
    }


class _Contender:
    """A contender's process, answering one measurement command at a time."""

    def __init__(self, name: str, dsn: str, world: dict[str, Any], loop: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench._run", name, dsn, json.dumps(world), loop],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        info = json.loads(self._read())
        self.label: str = info["label"]
        self.ops: list[str] = info["ops"]
        self.concurrent: bool = info["concurrent"]

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"contender {self.name} died (exit {self.proc.wait()})")
        return line

    def run(self, mode: str, op: str, n: int, offset: int) -> float:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{mode} {op} {n} {offset}\n")
        self.proc.stdin.flush()
        return float(self._read())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(60)


def measure(
    names: list[str], dsn: str, world: dict[str, Any], loop: str, n: int, rounds: int
) -> dict[str, dict[str, Any]]:
    """Medians per contender and operation, rounds interleaved across contenders."""
    procs = [_Contender(name, dsn, world, loop) for name in names]
    samples: dict[tuple[str, str, str], list[float]] = {}
    try:
        for op in OPS:
            having = [c for c in procs if op in c.ops]
            calls = max(n // 200, 5) if op in BULK_OPS else n
            for c in having:
                c.run("seq", op, max(calls // 10, 2 if op in BULK_OPS else 20), 0)  # warm up
            for mode in ("seq",) if op in BULK_OPS else ("seq", "conc"):
                for r in range(rounds):
                    # Rotate who goes first, so no contender always follows the same one.
                    order = having[r % len(having) :] + having[: r % len(having)] if having else []
                    for c in order:
                        if mode == "conc" and not c.concurrent:
                            continue
                        offset = (1 + r + (rounds if mode == "conc" else 0)) * n
                        samples.setdefault((c.name, op, mode), []).append(
                            c.run(mode, op, calls, offset)
                        )
    finally:
        for c in procs:
            c.close()
    results: dict[str, dict[str, Any]] = {c.name: {"label": c.label, "ops": {}} for c in procs}
    for (name, op, mode), values in samples.items():
        key = "seq_us" if mode == "seq" else "conc8_us"
        results[name]["ops"].setdefault(op, {})[key] = statistics.median(values)
    return results


def round_trips(
    names: list[str], dsn: str, world: dict[str, Any], calls: int = 10
) -> dict[tuple[str, str], float]:
    """Statements the server ran per call (pg_stat_statements), by (contender, operation).

    BEGIN, COMMIT and ROLLBACK count as statements; each statement is one round
    trip (asyncpg sends parse, bind and execute of a prepared statement together).
    """
    procs = [_Contender(name, dsn, world, "asyncio") for name in names if name in COUNTED]

    async def count(c: _Contender, op: str) -> float:
        conn = await asyncpg.connect(dsn)
        try:
            c.run("seq", op, 2, 0)  # prepared statements and type introspection first
            await conn.execute("SELECT pg_stat_statements_reset()")
            c.run("seq", op, calls, 10**6)
            total = await conn.fetchval(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
                " WHERE query NOT ILIKE '%pg_stat_statements%'"
            )
        finally:
            await conn.close()
        return float(total) / calls

    found: dict[tuple[str, str], float] = {}
    try:
        for c in procs:
            for op in COUNTED_OPS:
                if op in c.ops:
                    found[(c.name, op)] = asyncio.run(count(c, op))
    finally:
        for c in procs:
            c.close()
    return found


def trips_table(trips: dict[tuple[str, str], float], labels: dict[str, str]) -> list[str]:
    names = [n for n in COUNTED if any(k[0] == n for k in trips)]
    lines = [
        "### Round trips per operation",
        "",
        "Statements the server ran per call, counted with `pg_stat_statements` (BEGIN,"
        " COMMIT and ROLLBACK included; each statement is one round trip).",
        "",
        "| operation | " + " | ".join(labels.get(n, n) for n in names) + " |",
        "| --- |" + " ---: |" * len(names),
    ]
    for op in COUNTED_OPS:
        cells = ["—" if (n, op) not in trips else f"{trips[(n, op)]:g}" for n in names]
        lines.append(f"| {OPS[op]} | " + " | ".join(cells) + " |")
    return lines


def _fmt(us: float | None) -> str:
    return "—" if us is None else f"{us:,.0f}"


def table(results: dict[str, dict[str, Any]], loop: str) -> list[str]:
    names = [n for n in results]
    lines = [
        f"### {loop}",
        "",
        "µs per call (median of rounds); ratio = contender / baseline, lower is faster.",
        "",
        "| operation | mode | " + " | ".join(results[n]["label"] for n in names) + " |",
        "| --- | --- |" + " ---: |" * len(names),
    ]
    for op, title in OPS.items():
        for mode in ("seq_us", "conc8_us"):
            cells = []
            for n in names:
                entry = results[n]["ops"].get(op, {})
                cells.append(_fmt(entry.get(mode)))
            label = "sequential" if mode == "seq_us" else "8 concurrent"
            lines.append(f"| {title} | {label} | " + " | ".join(cells) + " |")
    others = [n for n in names if n not in BASELINES]
    lines += [
        "",
        "Ratios (contender / baseline; lower is faster). The baseline is asyncpg's pool"
        " doing the same SQL, or, for the authorized read and the audited update, the same"
        " work written by hand on asyncpg (ownership check; lock, update, diff, audit row)."
        " `held` is asyncpg on one held connection with prepared statements, the physical"
        " limit; `ORM / full` is how many times faster the full stack is than SQLAlchemy ORM.",
        "",
        "| operation | mode | " + " | ".join(others) + " | PgStore / held | ORM / full |",
        "| --- | --- |" + " ---: |" * (len(others) + 2),
    ]

    def value(name: str, op: str, mode: str) -> float | None:
        result: float | None = results.get(name, {}).get("ops", {}).get(op, {}).get(mode)
        return result

    def ratio(a: float | None, b: float | None) -> str:
        return "—" if not (a and b) else f"{a / b:.2f}x"

    for op, title in OPS.items():
        for mode in ("seq_us", "conc8_us"):
            base = value("asyncpg-by-hand", op, mode) or value("asyncpg-pool", op, mode)
            cells = [ratio(value(n, op, mode), base) for n in others]
            pg = value("txstore-pg", op, mode) or value("txstore-pg-layered", op, mode)
            cells.append(ratio(pg, value("asyncpg-held", op, mode)))
            cells.append(ratio(value("sqlalchemy-orm", op, mode), value("txstore-full", op, mode)))
            label = "sequential" if mode == "seq_us" else "8 concurrent"
            lines.append(f"| {title} | {label} | " + " | ".join(cells) + " |")
    return [*lines, "", *targets(results)]


#: (what, numerator contender, denominator contender, at least?, limit, operations,
#: modes): the target holds when numerator / denominator is <= limit (or >= limit
#: when "at least") in every listed cell.
_TARGETS = (
    ("PgStore within 85 % of the held connection (PgStore / held <= 1.18)",
     "txstore-pg", "asyncpg-held", False, 1 / 0.85, ("pk", "list10", "insert", "tx2"),
     ("seq_us",)),
    ("primary-key read through AuthzStore <= 1.3x PgStore",
     "txstore-authz", "txstore-pg-layered", False, 1.3, ("pk",), ("seq_us", "conc8_us")),
    ("audited update through AuditStore <= 1.25x by hand",
     "txstore-audit", "asyncpg-by-hand", False, 1.25, ("audited_update",),
     ("seq_us", "conc8_us")),
    ("full stack at least 2x faster than SQLAlchemy ORM (ORM / full >= 2)",
     "sqlalchemy-orm", "txstore-full", True, 2.0, tuple(OPS), ("seq_us", "conc8_us")),
    ("audited insert and update through the full stack <= 1.3x the unaudited PgStore write",
     "txstore-full", "txstore-pg-layered", False, 1.3, ("insert", "audited_update"),
     ("seq_us", "conc8_us")),
    ("full stack at least 4x faster than SQLAlchemy ORM + audit hook on writes (ORM / full >= 4)",
     "sqlalchemy-orm", "txstore-full", True, 4.0, ("insert", "audited_update", "bulk_update"),
     ("seq_us", "conc8_us")),
    ("audited bulk update of 1,000 rows <= 2x the unaudited bulk update",
     "txstore-full", "txstore-pg-layered", False, 2.0, ("bulk_update",), ("seq_us",)),
)  # fmt: skip


def targets(results: dict[str, dict[str, Any]]) -> list[str]:
    """One line per target the issues set: met, or the cells that miss it."""
    lines = ["Targets in this run:", ""]
    for what, num, den, at_least, limit, ops, modes in _TARGETS:
        missed, seen = [], 0
        for op in ops:
            for mode in modes:
                a = results.get(num, {}).get("ops", {}).get(op, {}).get(mode)
                b = results.get(den, {}).get("ops", {}).get(op, {}).get(mode)
                if not (a and b):
                    continue
                seen += 1
                if (a / b < limit) if at_least else (a / b > limit):
                    label = "sequential" if mode == "seq_us" else "8 concurrent"
                    missed.append(f"{OPS[op]}, {label}: {a / b:.2f}")
        if seen == 0:
            continue
        verdict = "met" if not missed else "**missed** in " + "; ".join(missed)
        lines.append(f"- {what}: {verdict} ({seen} cells)")
    return lines + _floor(results)


def _floor(results: dict[str, dict[str, Any]]) -> list[str]:
    """What the audited-write targets are up against: the write plus a fixed entry row."""

    def cell(name: str, op: str, mode: str) -> float | None:
        value: float | None = results.get(name, {}).get("ops", {}).get(op, {}).get(mode)
        return value

    parts = []
    for op in ("insert", "audited_update", "bulk_update"):
        for mode in ("seq_us",) if op in BULK_OPS else ("seq_us", "conc8_us"):
            floor = cell("txstore-floor", op, mode)
            plain = cell("txstore-pg-layered", op, mode)
            full = cell("txstore-full", op, mode)
            if not (floor and plain and full):
                continue
            label = "sequential" if mode == "seq_us" else "8 concurrent"
            parts.append(
                f"{OPS[op]}, {label}: floor {floor / plain:.2f}x the unaudited write,"
                f" full stack {full / floor:.2f}x the floor"
            )
    if not parts:
        return []
    return [
        "",
        "The floor under the audited-write targets: the same write through PgStore with a"
        " fixed entry row inserted by the same statement (no old row, no diff, no layer),"
        " the least an audited write costs on this schema:",
        "",
        *(f"- {p}" for p in parts),
    ]


_HEADER = """# Performance

Generated by `python -m bench --write docs/performance.md`: one process per
contender, the same server and data, one run. The processes take turns round by
round (the order rotating), so every contender meets the same moments of machine
noise; each cell is the median of its rounds. Client and server share the
machine's 2 cores, so absolute numbers include the server's work. Each
contender logs as production would: structlog at INFO with
`cache_logger_on_first_use=True` (without it, every filtered-out debug event
rebuilds a bound logger: 5.4 µs per event instead of 2.3 µs on this machine).
Each event loop's section ends with the speed targets, checked against that
run's medians; on this shared 2-core machine a single cell moves by 10-30 %
between runs, so a target missed or met by a few percent is within the noise.

"""


def _output(module: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", module],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--contenders", default=",".join([*CONTENDERS, *LAYERED]))
    parser.add_argument("--loops", default="asyncio,uvloop")
    parser.add_argument("-n", type=int, default=2000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", type=Path, help="write the report here (docs/performance.md)")
    args = parser.parse_args()
    settings = {**TEST_SETTINGS, "shared_preload_libraries": "pg_stat_statements"}
    with LocalCluster(settings=settings) as cluster:
        dsn = cluster.dsn()
        world = asyncio.run(seed(dsn))
        report = [
            f"Measured {datetime.date.today()} on {platform.machine()}, {os.cpu_count()} cores,"
            f" Python {platform.python_version()}, PostgreSQL {cluster.binaries.major} on"
            f" 127.0.0.1 (local cluster, fsync off), {args.n} calls x {args.rounds} rounds.",
            "",
        ]
        labels: dict[str, str] = {}
        for loop in args.loops.split(","):
            results = measure(args.contenders.split(","), dsn, world, loop, args.n, args.rounds)
            labels.update({name: r["label"] for name, r in results.items()})
            report += [*table(results, loop), ""]
        trips = round_trips(args.contenders.split(","), dsn, world)
        report += [*trips_table(trips, labels), ""]
    if args.write:
        for module, title in (
            ("bench.authz_list", "A filtered list at scale"),
            ("bench.harness", "The test harness"),
        ):
            report += [f"### {title} (`python -m {module}`)", "", "```", _output(module), "```", ""]
    text = "\n".join(report)
    print(text)
    if args.write:
        args.write.write_text(_HEADER + text + "\n")


if __name__ == "__main__":
    main()
