"""The demo (``make demo``: ``txstore demo`` in this project), end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_walks_through_every_layer_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "store._cli", "demo"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "postgresql://postgres@127.0.0.1:",
        "0 pending",
        "bob-dev (filtered in SQL)",
        "NotAuthorized: get_workspace_by_id: not authorized to read workspace",
        "cannot run get_user_by_id: transaction 'update_profile' is running in this task",
        '{"hashed_password": {"secret": true}}',
        '{"name": {"new": "Alice Liddell", "old": "Alice"}}',
        "'alice-dev renamed', and 0 other message(s)",
        "PurgeResult(deleted={'audit_logs': 1, 'api_keys': 0}",
        "transactions notify rollback   1",
        "server stopped",
    ):
        assert expected in out, f"missing {expected!r} in:\n{out}"
    assert "alice-hash" not in out, "a secret value reached the output"
    assert "alice-dev," not in out.split("bob lists the organization")[1].splitlines()[0]
