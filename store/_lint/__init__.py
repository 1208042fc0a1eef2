"""``txstore lint``: architecture rules checked over a project tree."""

from store._lint._finding import Finding, Rule
from store._lint._project import LintSettings, Project, SourceFile
from store._lint._runner import all_rules, run_rules, select_rules

__all__ = [
    "Finding",
    "LintSettings",
    "Project",
    "Rule",
    "SourceFile",
    "all_rules",
    "run_rules",
    "select_rules",
]
