"""What the audit layer takes from an application: its sink's query and its purge targets."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

import audit
from audit.errors import AuditConfigError
from store import Kind, Param, Query


def _query(kind: Kind, *params: str) -> Query[Any]:
    return Query(
        name="app_query",
        kind=kind,
        sql="SELECT 1",
        params=tuple(Param(p, "text") for p in params),
        decode=None,
        source="app/queries.sql:1",
    )


def test_the_database_auditor_takes_any_subset_of_entry_fields_in_any_order() -> None:
    audit.DatabaseAuditor(_query(Kind.EXEC, "diff", "id", "action", "org_id"))


def test_the_database_auditor_refuses_a_parameter_that_is_no_entry_field() -> None:
    with pytest.raises(AuditConfigError, match=r"app_query \(app/queries.sql:1\).*'tenant'"):
        audit.DatabaseAuditor(_query(Kind.EXEC, "id", "tenant"))
    with pytest.raises(AuditConfigError, match="must be :exec, :execrows or :one"):
        audit.DatabaseAuditor(_query(Kind.MANY, "id"))


def test_a_purge_target_needs_before_and_batch_size() -> None:
    target = audit.PurgeTarget("logs", _query(Kind.EXECROWS, "batch_size", "before"))
    moment = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    assert target.args(moment, 10) == (10, moment)  # in the query's parameter order
    with pytest.raises(ValueError, match="before and batch_size"):
        audit.PurgeTarget("logs", _query(Kind.EXECROWS, "cutoff", "batch_size"))
    with pytest.raises(ValueError, match=":execrows"):
        audit.PurgeTarget("logs", _query(Kind.EXEC, "before", "batch_size"))
