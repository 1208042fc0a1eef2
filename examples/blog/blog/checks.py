"""The blog's declarative tables, checked by ``txstore lint`` (``[tool.txstore.lint] checks``)."""

from __future__ import annotations

from audit import Problem as AuditProblem
from authz import Problem as AuthzProblem

from blog.auditing import AUDIT
from blog.policies import MODEL

__all__ = ["check_audit", "check_policies"]


def check_audit() -> list[AuditProblem]:
    """Unclassified or stale fields, undeclared or stale audited mutations. Raises nothing."""
    return AUDIT.problems()


def check_policies() -> list[AuthzProblem]:
    """Queries without a policy, policies that do not fit, undeclared vocabulary. Raises nothing."""
    return MODEL.problems()
