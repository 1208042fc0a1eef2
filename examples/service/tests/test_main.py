"""``python -m workspaces_service`` (``make service``): local PostgreSQL, a printed key, uvicorn."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]  # a text pipe
        into.put(line)
    into.put("")


def test_the_service_runs_on_loopback_with_a_seeded_key_and_stops_on_ctrl_c() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workspaces_service", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    out: list[str] = []
    try:
        token = ""
        while not token:
            line = lines.get(timeout=120)
            assert line, "the service exited early:\n" + "".join(out)
            out.append(line)
            if line.startswith("API key (shown once): "):
                token = line.split(": ", 1)[1].strip()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server never answered:\n" + "".join(out)
                time.sleep(0.2)
        mine = httpx.get(f"{base}/workspaces", headers={"authorization": f"Bearer {token}"})
        assert mine.status_code == 200
        assert mine.json() == {"workspaces": []}
        forged = httpx.get(f"{base}/workspaces", headers={"authorization": f"Bearer {token}x"})
        assert forged.status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        while (line := lines.get(timeout=10)) != "":
            out.append(line)
        assert proc.stdout is not None
        proc.stdout.close()
    assert code == 0, "".join(out)
    text = "".join(out)
    assert "postgresql://" not in text, "a DSN reached the output"
    assert text.count(token.split("-")[1]) == 1, "the secret was printed more than once"
