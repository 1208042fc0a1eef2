"""The classification table checks itself both ways (workspaces/auditing.py, audit/_classify.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import audit
import pytest
from pydantic import BaseModel, create_model

from workspaces.auditing import AUDIT, NOT_AUDITED, TABLE
from workspaces.db import QUERIES, models


def _check_table(
    table: Sequence[audit.Auditable] = TABLE,
    *,
    not_audited: Mapping[str, str] = NOT_AUDITED,
    queries: Mapping[str, Any] = QUERIES,
) -> list[audit.Problem]:
    return audit.check_table(table, not_audited=not_audited, queries=queries, source=AUDIT.source)


def _with(table: str, **changes: object) -> list[audit.Auditable]:
    return [dataclasses.replace(e, **changes) if e.table == table else e for e in TABLE]  # type: ignore[arg-type]  # replace() takes the fields as keywords


def test_shipped_table_classifies_every_field_of_every_auditable_model() -> None:
    assert _check_table() == []


def test_every_model_of_the_issue_is_auditable() -> None:
    assert {e.table for e in TABLE} == {
        "users",
        "organizations",
        "organization_members",
        "workspaces",
        "oauth2_provider_apps",
        "oauth2_provider_app_secrets",
        "api_keys",
    }
    assert set(NOT_AUDITED) == {"audit_logs"}


def test_credentials_are_secret_and_bookkeeping_is_ignored() -> None:
    user = AUDIT.classification_of(models.User)
    assert user["hashed_password"] is audit.SECRET
    assert user["updated_at"] is audit.IGNORE
    assert user["last_seen_at"] is audit.IGNORE
    assert AUDIT.classification_of(models.APIKey)["hashed_secret"] is audit.SECRET
    assert AUDIT.classification_of(models.APIKey)["last_used"] is audit.IGNORE
    assert AUDIT.classification_of(models.OAuth2ProviderAppSecret)["hashed_secret"] is (
        audit.SECRET
    )


def test_a_regenerated_model_with_an_unclassified_column_fails_naming_the_file() -> None:
    class UserWithNickname(models.User):  # what regenerating after a migration produces
        nickname: str

    problems = _check_table(_with("users", model=UserWithNickname))

    assert len(problems) == 1
    [problem] = problems
    assert problem.file.endswith("workspaces/auditing.py")
    assert "UserWithNickname.nickname (users) is not classified" in problem.message
    assert "workspaces/auditing.py" in problem.message
    assert _source_line(problem.line).strip() == "Auditable("
    assert 'table="users"' in _source_line(problem.line + 1)


def test_a_classified_field_that_no_longer_exists_is_stale() -> None:
    class OldWorkspace(BaseModel):  # a model from before a column was dropped
        id: str

    problems = _check_table(
        _with("workspaces", model=OldWorkspace, fields={"id": audit.TRACK, "gone": audit.TRACK})
    )

    messages = [p.message for p in problems]
    assert any(
        "workspaces.gone is classified but OldWorkspace has no field 'gone'" in m for m in messages
    )
    assert all(p.file.endswith("workspaces/auditing.py") for p in problems)


def test_stale_field_problem_points_at_its_line() -> None:
    kept = {n: (f.annotation, f) for n, f in models.User.model_fields.items() if n != "deleted"}
    smaller: type[BaseModel] = create_model("User", **kept)  # type: ignore[call-overload]  # field definitions built at run time

    [problem] = _check_table(_with("users", model=smaller))

    assert "users.deleted is classified but User has no field 'deleted'" in problem.message
    assert '"deleted": TRACK' in _source_line(problem.line)


def _source_line(line: int) -> str:
    return AUDIT.source.read_text(encoding="utf-8").splitlines()[line - 1]


def test_ignore_and_secret_need_a_reason() -> None:
    entry = next(e for e in TABLE if e.table == "organizations")
    fields = {**entry.fields, "icon": audit.IGNORE}
    problems = _check_table(_with("organizations", fields=fields))
    assert [p.message for p in problems] == [
        'organizations.icon is IGNORE without a reason: write it as (IGNORE, "why")'
    ]


def test_a_written_table_that_is_neither_classified_nor_excused_fails() -> None:
    problems = _check_table([e for e in TABLE if e.table != "api_keys"])
    [problem] = problems
    assert "table 'api_keys' is written by" in problem.message
    assert "delete_api_key" in problem.message
    assert _check_table(not_audited={})[0].message.startswith("table 'audit_logs' is written by")


def test_diffing_an_unclassified_field_is_refused_not_dropped() -> None:
    class UserWithNickname(models.User):
        nickname: str

    with pytest.raises(audit.errors.UnclassifiedField, match="nickname"):
        AUDIT.classification_of(UserWithNickname)
    with pytest.raises(audit.errors.NotAuditable):
        AUDIT.classification_of(models.AuditLog)
