"""``tools/ci_summary.py``: a Markdown summary of the failures in a junit XML file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "ci_summary.py"

PASSING = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="0" skipped="1" tests="2">
<testcase classname="tests.store.test_tx" name="test_commit" time="0.1"/>
<testcase classname="tests.store.test_tx" name="test_skip" time="0.0">
<skipped type="pytest.skip" message="no server">no server</skipped></testcase>
</testsuite></testsuites>
"""

FAILING = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="0" tests="3">
<testcase classname="tests.store.test_tx" name="test_commit" time="0.1"/>
<testcase classname="tests.store.test_tx.TestRetry" name="test_retries[40001]" time="0.2">
<failure message="AssertionError: assert 2 == 3">def test_retries():
&gt;       assert attempts == 3
E       assert 2 == 3
E        +  where 2 = len([1, 2])

tests/store/test_tx.py:41: AssertionError</failure>
<system-out>{stdout}</system-out>
<system-err>warning: slow server</system-err>
</testcase>
<testcase classname="tests.authz.test_store" name="test_deny" time="0.0">
<error message="failed on setup with &quot;RuntimeError: no database&quot;">@pytest.fixture
E   RuntimeError: no database</error>
</testcase>
</testsuite></testsuites>
"""


def _run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        check=False,
    )


def _failing(tmp_path: Path, stdout: str = "query took 3ms") -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(FAILING.format(stdout=stdout))
    return path


def test_missing_file_is_a_silent_success(tmp_path: Path) -> None:
    result = _run(tmp_path, str(tmp_path / "absent.xml"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_empty_file_is_a_silent_success(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text("")
    result = _run(tmp_path, "junit.xml")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_run_without_failures_is_a_silent_success(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(PASSING)
    summary = tmp_path / "summary.md"
    result = _run(tmp_path, "junit.xml", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not summary.exists()


def test_failures_name_the_test_and_the_first_error_line(tmp_path: Path) -> None:
    result = _run(tmp_path, str(_failing(tmp_path)))
    assert result.returncode == 0
    out = result.stdout
    assert out.startswith("## Test failures: 1 failed, 1 errored (junit.xml)\n")
    assert "### `tests/store/test_tx.py::TestRetry::test_retries[40001]`" in out
    assert "failure: `assert 2 == 3`" in out
    assert "### `tests/authz/test_store.py::test_deny`" in out
    assert "error: `RuntimeError: no database`" in out
    assert "test_commit" not in out
    assert "query took 3ms" in out
    assert "warning: slow server" in out


def test_captured_output_is_trimmed_to_its_tail(tmp_path: Path) -> None:
    stdout = "\n".join(f"log line {n}" for n in range(100)) + "\n" + "x" * 500
    result = _run(tmp_path, str(_failing(tmp_path, stdout)))
    out = result.stdout
    assert "log line 99" in out
    assert "log line 10\n" not in out
    assert "(81 earlier lines)" in out
    assert "x" * 197 + "..." in out
    assert "x" * 198 not in out


def test_summary_is_appended_to_the_github_step_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    result = _run(tmp_path, str(_failing(tmp_path)), env={"GITHUB_STEP_SUMMARY": str(summary)})
    written = summary.read_text()
    assert written.startswith("# earlier step\n## Test failures:")
    assert written == "# earlier step\n" + result.stdout


def test_output_with_backticks_keeps_its_code_fence(tmp_path: Path) -> None:
    result = _run(tmp_path, str(_failing(tmp_path, "```sql\nSELECT 1\n```")))
    assert "````\n```sql\nSELECT 1\n```\n````" in result.stdout


def test_a_file_that_is_not_xml_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text("pytest crashed")
    result = _run(tmp_path, "junit.xml")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "junit.xml is not junit XML" in result.stderr


def test_junit_with_file_attribute(tmp_path: Path) -> None:
    junit = textwrap.dedent("""\
        <testsuite><testcase classname="tests.test_a.TestX" file="tests/test_a.py" name="test_b">
        <failure message="boom">E   ValueError: boom</failure></testcase></testsuite>
        """)
    (tmp_path / "junit.xml").write_text(junit)
    assert "### `tests/test_a.py::TestX::test_b`" in _run(tmp_path, "junit.xml").stdout
