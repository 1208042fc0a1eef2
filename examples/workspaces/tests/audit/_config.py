"""Variants of the application's audit configuration, for tests of its checks."""

from __future__ import annotations

from typing import Any

import audit

from workspaces.auditing import AUDIT


def variant(**changes: Any) -> audit.Config:
    """The reference configuration with ``changes`` (keyword arguments of ``audit.Config``)."""
    fields: dict[str, Any] = {
        "queries": AUDIT.queries,
        "table": AUDIT.table,
        "not_audited": AUDIT.not_audited,
        "mutations": AUDIT.mutations,
        "resources": AUDIT.resources,
        "auditor": AUDIT.auditor,
        "create": AUDIT.create,
        "delete": AUDIT.delete,
        "source": AUDIT.source,
    }
    fields.update(changes)
    return audit.Config(**fields)
