"""PgBouncer in transaction pooling mode in front of a test server.

Tests run the store through it to show that txstore keeps only
transaction-scoped state: a client's consecutive transactions may land on
different server connections. Like PostgreSQL, PgBouncer refuses to run as
root; as root it runs as the server's unprivileged user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from store._localpg import _die_with_parent, _server_user, free_port
from store.errors import PostgresStartError

__all__ = ["IGNORED_STARTUP_PARAMETERS", "PgBouncer", "find_pgbouncer"]

#: Startup parameters asyncpg may send that PgBouncer would otherwise refuse. They
#: are dropped, not applied: set timeouts per transaction (``in_tx(statement_timeout=)``)
#: or on the role (``ALTER ROLE ... SET``) behind PgBouncer.
IGNORED_STARTUP_PARAMETERS = ("extra_float_digits", "options", "statement_timeout", "lock_timeout")


def find_pgbouncer() -> str | None:
    """The ``pgbouncer`` binary (``TXSTORE_PGBOUNCER``, ``PATH``, ``/usr/sbin``), or None."""
    for candidate in (
        os.environ.get("TXSTORE_PGBOUNCER"),
        shutil.which("pgbouncer"),
        "/usr/sbin/pgbouncer",
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class PgBouncer:
    """One PgBouncer process pooling every database of ``server_dsn``'s server.

    Clients log in with the server's user names; ``auth_type = trust`` (the
    test server trusts local connections too).
    """

    def __init__(
        self,
        server_dsn: str,
        *,
        pool_mode: str = "transaction",
        default_pool_size: int = 10,
        max_client_conn: int = 400,
        binary: str | None = None,
    ) -> None:
        self.server_dsn = server_dsn
        self.pool_mode = pool_mode
        self.default_pool_size = default_pool_size
        self.max_client_conn = max_client_conn
        self.binary = binary or find_pgbouncer()
        self.port = 0
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._user = _server_user()

    def dsn(self, dbname: str | None = None) -> str:
        """``server_dsn`` pointed at PgBouncer (and at ``dbname`` when given)."""
        parts = urlsplit(self.server_dsn)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        path = f"/{dbname}" if dbname is not None else parts.path
        return urlunsplit(parts._replace(netloc=netloc, path=path))

    @property
    def log_file(self) -> Path:
        assert self._dir is not None, "PgBouncer not started"
        return self._dir / "pgbouncer.log"

    def _config(self) -> str:
        server = urlsplit(self.server_dsn)
        return "\n".join(
            [
                "[databases]",
                f"* = host={server.hostname or '127.0.0.1'} port={server.port or 5432}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {self._dir}/userlist.txt",
                f"pool_mode = {self.pool_mode}",
                f"max_client_conn = {self.max_client_conn}",
                f"default_pool_size = {self.default_pool_size}",
                f"ignore_startup_parameters = {','.join(IGNORED_STARTUP_PARAMETERS)}",
                f"logfile = {self.log_file}",
                "log_connections = 0",
                "log_disconnections = 0",
                "",
            ]
        )

    def start(self) -> None:
        """Write the configuration, start PgBouncer, return once it accepts connections.

        Raises:
            PostgresStartError: no ``pgbouncer`` binary, or it did not start (with its log).
        """
        if self._proc is not None:
            return
        if self.binary is None:
            raise PostgresStartError(
                "pgbouncer not found: apt-get install pgbouncer, or set TXSTORE_PGBOUNCER"
            )
        self._dir = Path(tempfile.mkdtemp(prefix="txstore-pgbouncer-"))
        self.port = free_port()
        user = urlsplit(self.server_dsn).username or "postgres"
        (self._dir / "userlist.txt").write_text(f'"{user}" ""\n')
        config = self._dir / "pgbouncer.ini"
        config.write_text(self._config())
        self.log_file.touch()
        if self._user is not None:
            for path in (self._dir, *self._dir.iterdir()):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        self._proc = subprocess.Popen(
            [self.binary, "-q", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self._dir,
            preexec_fn=_die_with_parent,
            user=self._user.pw_uid if self._user else None,
            group=self._user.pw_gid if self._user else None,
            extra_groups=[] if self._user else None,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                log = self.log_file.read_text(errors="replace")
                self._proc = None
                self.stop()
                raise PostgresStartError(f"pgbouncer exited during start-up; log:\n{log}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.01)
        self.stop()
        raise PostgresStartError("pgbouncer did not accept connections within 10 s")

    def stop(self) -> None:
        """Stop PgBouncer and remove its directory."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # immediate shutdown: test clients are done
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> PgBouncer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
