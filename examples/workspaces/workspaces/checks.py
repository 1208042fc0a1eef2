"""The application's declarative tables, checked by ``txstore lint`` (its lint checks)."""

from __future__ import annotations

from audit import Problem as AuditProblem
from authz import Problem as AuthzProblem

from workspaces.auditing import AUDIT
from workspaces.policies import MODEL

__all__ = ["check_audit", "check_policies"]


def check_audit() -> list[AuditProblem]:
    """Unclassified or stale fields, undeclared or stale audited mutations. Raises nothing."""
    return AUDIT.problems()


def check_policies() -> list[AuthzProblem]:
    """Queries without a policy, policies that do not fit, undeclared vocabulary. Raises nothing."""
    return MODEL.problems()
