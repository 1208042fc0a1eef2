"""The README's main command runs end to end."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_end_to_end_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "store._cli", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "embedded PostgreSQL" in out
    assert "postgresql://postgres@127.0.0.1:" in out
    assert "schema version" in out
    assert "0 pending" in out
    assert "stopped" in out
