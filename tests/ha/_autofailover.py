"""A pg_auto_failover formation on this machine: a monitor, a primary and a secondary.

Started by the test itself, like the plugin's local cluster: as an unprivileged
system user when we are root (PostgreSQL and pg_autoctl refuse root), on
loopback only and free ports, under a directory removed on stop. The monitor's
health checks are tightened so a hard failure is detected in seconds rather
than the production defaults' ~30 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from store._localpg import _die_with_parent, _server_user, default_base_dir, free_port

__all__ = ["Formation", "Node"]

# Monitor GUCs (milliseconds): a node is declared failed after about 2-3 s of
# silence instead of the default 20 s.
_MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "500",
    "pgautofailover.health_check_timeout": "500",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "200",
    "pgautofailover.node_considered_unhealthy_timeout": "2000",
    "pgautofailover.startup_grace_period": "2000",
    # longer than the keepers' network_partition_timeout, so the old primary has
    # demoted itself (it lost the monitor and its standby) before the other is promoted
    "pgautofailover.primary_demote_timeout": "4000",
}
# Keeper settings (seconds).
_KEEPER_SETTINGS = {
    "timeout.network_partition_timeout": "3",
    "timeout.prepare_promotion_catchup": "5",
    "timeout.prepare_promotion_walreceiver": "1",
    "timeout.postgresql_restart_failure_timeout": "3",
    "timeout.postgresql_restart_failure_max_retries": "1",
}


_UP_STATES = ("single", "primary", "secondary", "wait_primary", "catchingup")


def _pg_bindir() -> Path:
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (bindir / "pg_ctl").exists() and any((bindir.parent / "lib").glob("pgautofailover*")):
            return bindir
    raise RuntimeError("no PostgreSQL with the pgautofailover extension: run scripts/ensure-ha.sh")


@dataclass
class Node:
    """One pg_autoctl service (the monitor or a Postgres node) and its data directory."""

    name: str
    pgdata: Path
    port: int
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.pgdata.parent / f"{self.name}.log"


class Formation:
    """The monitor and two Postgres nodes with synchronous replication between them."""

    def __init__(self, dbname: str = "app") -> None:
        self.autoctl = shutil.which("pg_autoctl") or "/usr/bin/pg_autoctl"
        self.bindir = _pg_bindir()
        self.dbname = dbname
        self.user = _server_user()
        self.root = (
            default_base_dir().parent / "txstore-ha" / f"{os.getpid()}-{secrets.token_hex(3)}"
        )
        self.monitor = Node("monitor", self.root / "monitor", free_port())
        self.nodes = [Node(f"node{i}", self.root / f"node{i}", free_port()) for i in (1, 2)]

    # -- plumbing ----------------------------------------------------------------------
    @property
    def monitor_uri(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.monitor.port}/pg_auto_failover?sslmode=disable"

    def dsn(self, order: list[Node] | None = None) -> str:
        """A multi-host DSN over both nodes that picks whichever accepts writes."""
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in (order or self.nodes))
        return f"postgresql://postgres@{hosts}/{self.dbname}?target_session_attrs=read-write"

    def node_dsn(self, node: Node, dbname: str | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{node.port}/{dbname or self.dbname}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "XDG"))}
        home = str(self.root)
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=f"{home}/config",
            XDG_DATA_HOME=f"{home}/share",
            XDG_RUNTIME_DIR=f"{home}/run",
            PG_CONFIG=str(self.bindir / "pg_config"),
            PATH=f"{self.bindir}:{env.get('PATH', '/usr/bin:/bin')}",
            LC_ALL="C.UTF-8",
        )
        if self.user is not None:
            env["USER"] = self.user.pw_name
        return env

    @property
    def _uid(self) -> int | None:
        return self.user.pw_uid if self.user else None

    @property
    def _gid(self) -> int | None:
        return self.user.pw_gid if self.user else None

    @property
    def _groups(self) -> list[int] | None:
        return [] if self.user else None  # drop root's supplementary groups

    def _run(self, *args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            [self.autoctl, *args],
            capture_output=True,
            text=True,
            env=self._env(),
            cwd=self.root,
            timeout=timeout,
            check=False,
            user=self._uid,
            group=self._gid,
            extra_groups=self._groups,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg_autoctl {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def _spawn(self, node: Node, *args: str) -> None:
        log = node.log.open("ab")
        try:
            node.proc = subprocess.Popen(
                [self.autoctl, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._env(),
                cwd=self.root,
                preexec_fn=_die_with_parent,
                process_group=0,  # its own group, so a hard kill reaches every child
                user=self._uid,
                group=self._gid,
                extra_groups=self._groups,
            )
        finally:
            log.close()

    def log_tail(self, node: Node, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(node.log.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Create and run the monitor and both nodes; return once node1 is a primary
        with node2 as its synchronous secondary."""
        self.root.mkdir(parents=True, mode=0o700)
        if self.user is not None:
            self.root.parent.chmod(0o711)
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        common = ["--auth", "trust", "--no-ssl", "--pgctl", str(self.bindir / "pg_ctl")]
        m = self.monitor
        self._run(
            "create",
            "monitor",
            "--pgdata",
            str(m.pgdata),
            "--pgport",
            str(m.port),
            "--hostname",
            "127.0.0.1",
            *common,
        )
        with (m.pgdata / "postgresql.auto.conf").open("a") as conf:
            conf.write("listen_addresses = '127.0.0.1'\n")
            for key, value in _MONITOR_SETTINGS.items():
                conf.write(f"{key} = {value}\n")
        self._spawn(m, "run", "--pgdata", str(m.pgdata))
        self._wait(
            lambda: self._sql_ok(f"postgresql://postgres@127.0.0.1:{m.port}/pg_auto_failover"),
            30,
            m,
        )
        for node in self.nodes:
            self._create_node(node, common)
            self._wait_state(
                {node.name: ("single", "primary", "secondary", "wait_primary", "catchingup")}, 60
            )
        self.wait_roles(primary=self.nodes[0], secondary=self.nodes[1], timeout=60)

    def _create_node(self, node: Node, common: list[str]) -> None:
        self._run(
            "create",
            "postgres",
            "--pgdata",
            str(node.pgdata),
            "--pgport",
            str(node.port),
            "--hostname",
            "127.0.0.1",
            "--listen",
            "127.0.0.1",
            "--name",
            node.name,
            "--dbname",
            self.dbname,
            "--monitor",
            self.monitor_uri,
            *common,
            timeout=120,
        )
        for key, value in _KEEPER_SETTINGS.items():
            self._run("config", "set", "--pgdata", str(node.pgdata), key, value)
        self._spawn(node, "run", "--pgdata", str(node.pgdata))

    def restart(self, node: Node) -> None:
        """Run a killed node's keeper again; it rejoins the formation on its own."""
        self._spawn(node, "run", "--pgdata", str(node.pgdata))

    def kill(self, node: Node) -> None:
        """Fail ``node`` hard: SIGKILL its keeper, its postmaster and every backend."""
        proc, node.proc = node.proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        postmaster = _postmaster_pid(node.pgdata)
        if postmaster is not None:
            victims = [postmaster, *_children(postmaster)]
            for pid in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)

    def stop(self) -> None:
        """Stop every service (immediately: nothing here needs a clean shutdown) and clean up."""
        for node in [*self.nodes, self.monitor]:
            self.kill(node)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- state ----------------------------------------------------------------------------
    def states(self) -> dict[str, tuple[str, str]]:
        """Each node's (reported, assigned) state, as the monitor sees it."""
        return asyncio.run(self._states())

    async def _states(self) -> dict[str, tuple[str, str]]:
        conn = await asyncpg.connect(
            f"postgresql://postgres@127.0.0.1:{self.monitor.port}/pg_auto_failover", timeout=5
        )
        try:
            rows = await conn.fetch(
                "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node"
            )
        finally:
            await conn.close()
        return {r["nodename"]: (r["reportedstate"], r["goalstate"]) for r in rows}

    def _sql_ok(self, dsn: str) -> bool:
        async def probe() -> None:
            conn = await asyncpg.connect(dsn, timeout=2)
            await conn.close()

        try:
            asyncio.run(probe())
        except (OSError, asyncpg.PostgresError, TimeoutError, asyncpg.InterfaceError):
            return False
        return True

    def _wait(self, ready: Callable[[], bool], timeout: float, node: Node) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{node.name} not ready in {timeout} s:\n{self.log_tail(node)}")

    def _wait_state(self, want: dict[str, tuple[str, ...]], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: dict[str, tuple[str, str]] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
                last = self.states()
                if all(
                    name in last and last[name][0] == last[name][1] and last[name][0] in states
                    for name, states in want.items()
                ):
                    return
            time.sleep(0.1)
        logs = "\n".join(f"--- {n.name}\n{self.log_tail(n)}" for n in [self.monitor, *self.nodes])
        raise RuntimeError(f"formation not in {want} after {timeout} s: {last}\n{logs}")

    def wait_roles(self, *, primary: Node, secondary: Node | None, timeout: float) -> float:
        """Wait until the monitor reports ``primary`` (and ``secondary``) settled; return
        the seconds waited."""
        started = time.monotonic()
        want: dict[str, tuple[str, ...]] = {
            primary.name: ("primary",) if secondary else ("primary", "wait_primary", "single")
        }
        if secondary is not None:
            want[secondary.name] = ("secondary",)
        self._wait_state(want, timeout)
        return time.monotonic() - started


def _postmaster_pid(pgdata: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    return None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found
