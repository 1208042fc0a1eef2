"""Summarise the failures in a pytest junit XML file as Markdown for a CI job page.

Usage: ``python tools/ci_summary.py JUNIT_XML``

For every failed or errored test it prints the test id, the first assertion or
error line, and the tail of its captured log, stdout and stderr. The summary
goes to stdout and is appended to ``$GITHUB_STEP_SUMMARY`` when that is set. A
missing or empty file, or a run without failures, prints nothing and exits 0;
a file that is not junit XML exits 2 with a message on stderr.
"""

from __future__ import annotations

import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Failure", "main", "parse_failures", "render"]

TAIL_LINES = 20
LINE_WIDTH = 200
MAX_FAILURES = 30
_OUTPUT_TAGS = (("system-out", "stdout / log"), ("system-err", "stderr"))


@dataclass(frozen=True)
class Failure:
    """One failed or errored test case."""

    test_id: str
    kind: str  # "failure" or "error"
    first_line: str
    outputs: tuple[tuple[str, str], ...]  # (label, trimmed tail)


def _test_id(case: ET.Element) -> str:
    name = case.get("name", "?")
    file = case.get("file")
    classname = case.get("classname", "")
    if file:
        parts = classname.split(".")
        module = Path(file).with_suffix("").as_posix().replace("/", ".")
        classes = parts[len(module.split(".")) :] if classname.startswith(module) else []
        return "::".join([file, *classes, name])
    if not classname:
        return name
    parts = classname.split(".")
    # module path components are lower case; trailing capitalised ones are test classes
    split = len(parts)
    while split > 1 and parts[split - 1][:1].isupper():
        split -= 1
    module = "/".join(parts[:split]) + ".py"
    return "::".join([module, *parts[split:], name])


def _trim(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= LINE_WIDTH else line[: LINE_WIDTH - 3] + "..."


def _first_line(element: ET.Element) -> str:
    text = element.text or ""
    for line in text.splitlines():
        if line.startswith("E "):
            return _trim(line[1:].strip())
    message = (element.get("message") or "").strip()
    if message:
        return _trim(message.splitlines()[0])
    return next((_trim(line.strip()) for line in text.splitlines() if line.strip()), "(no message)")


def _tail(text: str) -> str:
    lines = [_trim(line) for line in text.strip("\n").splitlines()]
    if len(lines) > TAIL_LINES:
        lines = [f"... ({len(lines) - TAIL_LINES} earlier lines)", *lines[-TAIL_LINES:]]
    return "\n".join(lines)


def parse_failures(path: Path) -> list[Failure]:
    """The failed and errored test cases in the junit file at ``path``, in file order.

    Raises ``xml.etree.ElementTree.ParseError`` when the file is not XML.
    """
    root = ET.parse(path).getroot()  # noqa: S314 - our own pytest output
    failures = []
    for case in root.iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None:
            continue
        outputs = []
        for tag, label in _OUTPUT_TAGS:
            for element in case.findall(tag):
                if element.text and element.text.strip():
                    outputs.append((label, _tail(element.text)))
        failures.append(Failure(_test_id(case), problem.tag, _first_line(problem), tuple(outputs)))
    return failures


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _inline(text: str) -> str:
    if "`" not in text:
        return f"`{text}`"
    fence = "`" * (max(len(run) for run in re.findall(r"`+", text)) + 1)
    return f"{fence} {text} {fence}"


def render(failures: Sequence[Failure], source: str) -> str:
    """The Markdown summary of ``failures`` read from ``source``."""
    errors = sum(1 for f in failures if f.kind == "error")
    counts = f"{len(failures) - errors} failed, {errors} errored"
    lines = [f"## Test failures: {counts} ({source})", ""]
    for failure in failures[:MAX_FAILURES]:
        lines += [f"### `{failure.test_id}`", ""]
        lines += [f"{failure.kind}: {_inline(failure.first_line)}", ""]
        for label, tail in failure.outputs:
            fence = _fence(tail)
            lines += [
                f"<details><summary>{label}</summary>",
                "",
                fence,
                tail,
                fence,
                "",
                "</details>",
                "",
            ]
    if len(failures) > MAX_FAILURES:
        lines += [f"... and {len(failures) - MAX_FAILURES} more", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print (and append to ``$GITHUB_STEP_SUMMARY``) the summary; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: ci_summary.py JUNIT_XML", file=sys.stderr)
        return 2
    path = Path(args[0])
    if not path.is_file() or not path.read_bytes().strip():
        return 0
    try:
        failures = parse_failures(path)
    except ET.ParseError as error:
        print(f"ci_summary.py: {path} is not junit XML: {error}", file=sys.stderr)
        return 2
    if not failures:
        return 0
    summary = render(failures, path.name)
    print(summary)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as out:
            out.write(summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
