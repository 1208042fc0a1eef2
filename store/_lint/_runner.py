"""Finding the rule modules and running them over a project."""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
import re
from collections.abc import Iterable, Sequence
from typing import cast

from store._lint import rules
from store._lint._finding import Finding, Rule
from store._lint._project import Project

__all__ = ["all_rules", "run_rules", "select_rules"]

# ``# txstore-lint: ignore[rule-id, other-id]`` on the reported line silences those rules there
_INLINE_IGNORE = re.compile(r"#\s*txstore-lint:\s*ignore\[([^\]]*)\]")


def all_rules() -> list[Rule]:
    """Every module in ``store._lint.rules``, ordered by rule id.

    Adding a rule is adding a module there exposing ``ID``, ``DESCRIPTION`` and
    ``check(project)``.
    """
    found = []
    for info in pkgutil.iter_modules(rules.__path__):
        module = importlib.import_module(f"{rules.__name__}.{info.name}")
        if hasattr(module, "ID") and hasattr(module, "check"):
            found.append(cast(Rule, module))
    return sorted(found, key=lambda rule: rule.ID)


def select_rules(ids: Iterable[str]) -> list[Rule]:
    """The rules with these ids, ordered by id; raises ``KeyError`` naming unknown ids."""
    wanted = set(ids)
    rules = [rule for rule in all_rules() if rule.ID in wanted]
    unknown = wanted - {rule.ID for rule in rules}
    if unknown:
        raise KeyError(f"unknown rule(s): {', '.join(sorted(unknown))}")
    return rules


def run_rules(project: Project, selected: Iterable[Rule] | None = None) -> list[Finding]:
    """Run ``selected`` (default: every rule) over ``project``; returns the findings, sorted.

    A rule that crashes is reported as a finding of that rule rather than
    hiding the others' results.
    """
    findings: list[Finding] = []
    chosen: Sequence[Rule] = list(selected) if selected is not None else all_rules()
    for rule in chosen:
        try:
            findings.extend(rule.check(project))
        except Exception as error:  # a broken rule must not hide the other rules
            findings.append(
                Finding(
                    "pyproject.toml", 1, rule.ID, f"rule crashed: {type(error).__name__}: {error}"
                )
            )
    findings.extend(
        Finding(path, line, "syntax", message) for path, line, message in project.unparsable
    )
    return sorted({f for f in findings if not _ignored(project, f)})


def _ignored(project: Project, finding: Finding) -> bool:
    for pattern, rule_ids in project.settings.per_file_ignores.items():
        if finding.rule in rule_ids and fnmatch.fnmatchcase(finding.path, pattern):
            return True
    path = project.root / finding.path
    if path.suffix != ".py" or not path.is_file():
        return False
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not 0 < finding.line <= len(lines):
        return False
    match = _INLINE_IGNORE.search(lines[finding.line - 1])
    return match is not None and finding.rule in {r.strip() for r in match.group(1).split(",")}
