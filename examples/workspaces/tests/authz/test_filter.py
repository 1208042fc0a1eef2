"""The SQL predicate a subject's grants compile to."""

from __future__ import annotations

import uuid

from authz import RESOURCES, Action, Subject
from authz._authorize import grants
from authz._filter import Filters
from store import QUERIES


def _derive(subject: Subject) -> tuple[str, tuple[object, ...]]:
    query = QUERIES["list_workspaces"]
    resource = RESOURCES["workspace"]
    derived, extra = Filters().apply(
        query, resource, grants(subject, Action.READ, resource.type), subject.id
    )
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
