"""``txstore dev``: per-checkout ports with explicit overrides, and a server kept between runs."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
import tempfile
from asyncio.subprocess import PIPE
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from migrations import TABLE as MIGRATIONS_TABLE
from store._cli import build_parser
from store._dev import (
    BUCKETS,
    DEFAULT_PORT,
    STEP,
    UsageError,
    fnv1a_64,
    port_offset,
    resolve_port,
)
from store._localpg import free_port

ROOT = Path("/srv/checkouts/txstore")


def test_fnv1a_64_matches_the_reference_vectors() -> None:
    assert fnv1a_64(b"") == 0xCBF29CE484222325
    assert fnv1a_64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a_64(b"foobar") == 0x85944171F73967E8


def test_port_offset_is_deterministic_and_in_bounds() -> None:
    assert port_offset(ROOT) == port_offset(Path("/srv/checkouts/txstore"))
    assert port_offset(ROOT) == (fnv1a_64(str(ROOT).encode()) % BUCKETS) * STEP
    offsets = {port_offset(Path(f"/home/dev/checkout-{i}")) for i in range(500)}
    assert all(0 <= o <= (BUCKETS - 1) * STEP and o % STEP == 0 for o in offsets)
    assert len(offsets) > BUCKETS // 2  # spread over the buckets, not clumped


def test_relative_roots_are_hashed_by_absolute_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    assert port_offset(Path("srv/checkouts/txstore")) == port_offset(ROOT)


def test_the_offset_applies_when_nothing_is_set() -> None:
    choice = resolve_port(ROOT, env={})
    assert choice.port == DEFAULT_PORT + port_offset(ROOT)
    assert choice.source == "offset"


def test_no_offset_gives_the_default_port() -> None:
    assert resolve_port(ROOT, env={}, no_offset=True).port == DEFAULT_PORT
    assert resolve_port(ROOT, env={}, no_offset=True).source == "default"
    by_env = resolve_port(ROOT, env={"TXSTORE_DEV_NO_OFFSET": "1"})
    assert (by_env.port, by_env.source) == (DEFAULT_PORT, "default")
    assert resolve_port(ROOT, env={"TXSTORE_DEV_NO_OFFSET": "0"}).source == "offset"


def test_the_environment_overrides_the_offset() -> None:
    choice = resolve_port(ROOT, env={"TXSTORE_DEV_PORT": "6000", "TXSTORE_DEV_NO_OFFSET": "1"})
    assert (choice.port, choice.source, choice.detail) == (6000, "explicit", "TXSTORE_DEV_PORT")


def test_the_flag_overrides_the_environment() -> None:
    choice = resolve_port(ROOT, flag=7000, env={"TXSTORE_DEV_PORT": "6000"}, no_offset=True)
    assert (choice.port, choice.source, choice.detail) == (7000, "explicit", "--port")


@pytest.mark.parametrize("value", ["abc", "0", "65536", "-5"])
def test_a_malformed_port_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match="TXSTORE_DEV_PORT"):
        resolve_port(ROOT, env={"TXSTORE_DEV_PORT": value})


def test_dev_is_a_txstore_command() -> None:
    args = build_parser().parse_args(["dev", "--once", "--port", "5999", "--no-offset"])
    assert (args.command, args.once, args.port, args.no_offset) == ("dev", True, 5999, True)


@pytest.fixture
def checkout() -> Iterator[Path]:
    # Not tmp_path: as root the server runs as another user, which must be able
    # to enter every directory above the data directory.
    root = Path(tempfile.mkdtemp(prefix="txstore-dev-test-"))
    root.chmod(0o755)
    (root / "pyproject.toml").write_text('[project]\nname = "app"\n\n[tool.txstore]\n')
    migrations = root / "db" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "000001_notes.up.sql").write_text("CREATE TABLE notes (id bigint);\n")
    (migrations / "000001_notes.down.sql").write_text("DROP TABLE notes;\n")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _dsn(output: str) -> str:
    match = re.search(r"DSN\s+(postgresql://\S+)", output)
    assert match, output
    return match.group(1)


async def test_dev_once_then_a_second_run_reuses_the_data_directory(checkout: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "store._cli", "dev", "--root", str(checkout)]
    once = await asyncio.create_subprocess_exec(
        *command, "--port", str(port), "--once", stdout=PIPE, stderr=PIPE
    )
    async with asyncio.timeout(60):
        out, err = await once.communicate()
    first = out.decode()
    assert once.returncode == 0, err.decode()
    assert f"{checkout}/.txstore/dev/data (created)" in first
    assert f"port       {port} (explicit: --port)" in first
    assert "(0 pending)" in first
    assert "stopped" in first
    dsn = _dsn(first)
    assert dsn == f"postgresql://postgres@127.0.0.1:{port}/txstore"

    # The second run serves until SIGTERM; meanwhile the printed DSN works.
    proc = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, "TXSTORE_DEV_PORT": str(port)},
        stdout=PIPE,
        stderr=PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not lines or "Ctrl-C to stop" not in lines[-1]:
                line = (await proc.stdout.readline()).decode()
                assert line, "".join(lines) + (await proc.stderr.read()).decode()
                lines.append(line)
        banner = "".join(lines)
        assert "(reused)" in banner
        assert "explicit: TXSTORE_DEV_PORT" in banner
        assert "migrated   0 applied" in banner
        assert _dsn(banner) == dsn
        conn = await asyncpg.connect(dsn)
        try:
            applied = await conn.fetchval(f"SELECT count(*) FROM {MIGRATIONS_TABLE}")
            assert applied > 0
        finally:
            await conn.close()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            rest, _ = await proc.communicate()
    assert proc.returncode == 0
    assert "stopped" in rest.decode()
