"""The SQL predicate a subject's grants compile to (on the reference application's model)."""

from __future__ import annotations

import dataclasses
import uuid

from workspaces.db import LIST_WORKSPACES
from workspaces.policies import MODEL, RESOURCES

from authz import Action, Open, Subject
from authz._filter import Filters


def _derive(subject: Subject, open: Open | None = None) -> tuple[str, tuple[object, ...]]:
    resource = dataclasses.replace(RESOURCES["workspace"], open=open)
    grants = MODEL.grants(subject, Action.READ, resource.type)
    derived, extra = Filters().apply(LIST_WORKSPACES, resource, grants, subject.id, Action.READ)
    return derived.sql, extra


def test_one_organization_compares_with_equals_so_an_index_can_serve_the_order() -> None:
    org = uuid.uuid4()
    sql, extra = _derive(Subject.user(uuid.uuid4(), org_roles={org: ("org-admin",)}))
    assert '"workspaces"."organization_id" = $4::uuid' in sql
    assert "ANY" not in sql
    assert extra == (org,)


def test_several_organizations_use_an_array_parameter() -> None:
    orgs = [uuid.uuid4(), uuid.uuid4()]
    sql, extra = _derive(Subject.user(uuid.uuid4(), org_roles={o: ("org-admin",) for o in orgs}))
    assert '"workspaces"."organization_id" = ANY($4::uuid[])' in sql
    assert len(extra) == 1
    assert sorted(extra[0]) == sorted(orgs)  # type: ignore[call-overload]  # a list of uuids


def test_no_grant_filters_everything_out() -> None:
    sql, extra = _derive(Subject.user(uuid.uuid4(), site_roles=()))
    assert "(FALSE) /*authorized*/" in sql or "FALSE /*authorized*/" in sql
    assert extra == ()


def test_an_open_row_condition_becomes_one_more_term_for_user_subjects() -> None:
    opened = Open("autostart_schedule", "daily")
    sql, extra = _derive(Subject.user(uuid.uuid4()), opened)
    assert '("workspaces"."autostart_schedule" = $4) /*authorized*/' in sql
    assert extra == ("daily",)
    closed = Open("autostart_schedule", actions=frozenset())
    sql, extra = _derive(Subject.user(uuid.uuid4()), closed)
    assert "FALSE /*authorized*/" in sql  # the condition opens no read
