"""``generated-current``: committed generated code and schema dump match a fresh ``txstore gen``.

Runs ``txstore gen --check`` in-process on the linted tree. ``gen`` prepares
every query against a database migrated to head and regenerates the schema
dump, so this rule needs PostgreSQL: ``$TXSTORE_DSN``, else an ephemeral local
cluster. Each stale file is a finding naming it; a generation error is a
finding at its ``file:line``; no reachable database is a finding too (skip
the rule with ``txstore lint --skip generated-current`` where there is none).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
from collections.abc import Iterable, Iterator

from store._gen import cli as gen_cli
from store._lint._finding import Finding
from store._lint._project import Project

__all__ = ["DESCRIPTION", "ID", "check"]

ID = "generated-current"
DESCRIPTION = "generated query code and schema dump match `txstore gen` (needs PostgreSQL)"

_STALE = re.compile(r"^stale: (?P<path>.+?) \(run `txstore gen`\)$")
_PROBLEM = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+): (?P<message>.+)$")


def _findings(project: Project, code: int, output: str) -> Iterator[Finding]:
    generated = project.relative(project.config.generated)
    reported = False
    for line in output.splitlines():
        stale = _STALE.match(line)
        problem = _PROBLEM.match(line)
        if stale:
            yield Finding(
                stale.group("path"), 1, ID, "stale generated file; run `txstore gen` and commit it"
            )
        elif problem and code == 2:
            path, number = problem.group("path"), int(problem.group("line"))
            yield Finding(project.relative(path), number, ID, problem.group("message"))
        else:
            continue
        reported = True
    if code != 0 and not reported:
        summary = " ".join(output.split())[:300] or f"exit status {code}"
        yield Finding(generated, 1, ID, f"`txstore gen --check` failed: {summary}")


def check(project: Project) -> Iterable[Finding]:
    """Yield a finding per stale generated file (or per generation problem)."""
    if project.config.generated_dir is None:
        return []  # the application generates nothing: nothing can be stale
    output = io.StringIO()
    args = argparse.Namespace(check=True, dsn=None, root=project.root)
    try:
        with (
            contextlib.chdir(project.root),  # gen reads the configuration of the current tree
            contextlib.redirect_stdout(output),
            contextlib.redirect_stderr(output),
        ):
            code = gen_cli.run(args)
    except Exception as error:  # no server, no binaries: the check could not run
        generated = project.relative(project.config.generated)
        message = f"cannot run `txstore gen --check`: {type(error).__name__}: {error}"
        return [Finding(generated, 1, ID, message)]
    return list(_findings(project, code, output.getvalue()))
