"""Model.authorize(): site, organization and owner grants, scopes, and the decision cache."""

from __future__ import annotations

import uuid

import authz
import pytest
from authz import Action, Object, Subject
from authz.errors import UnknownRole

from workspaces.policies import APPLICATION_CONNECT, MODEL

authorize = MODEL.authorize

A, B = uuid.uuid4(), uuid.uuid4()
ME, OTHER = uuid.uuid4(), uuid.uuid4()


def ws(owner: uuid.UUID, org: uuid.UUID) -> Object:
    return Object("workspace", str(uuid.uuid4()), owner, org)


def test_owner_level_grants_apply_only_to_ones_own_objects() -> None:
    me = Subject.user(ME, ["member"])
    assert authorize(me, Action.READ, Object("user", str(ME), ME))
    assert authorize(me, "update_personal", Object("user", str(ME), ME))
    assert not authorize(me, Action.UPDATE, Object("user", str(ME), ME))  # status is an admin's
    assert not authorize(me, Action.READ, Object("user", str(OTHER), OTHER))


def test_organization_owned_grants_stay_inside_that_organization() -> None:
    me = Subject.user(ME, org_roles={A: ["org-member"]})
    assert authorize(me, Action.CREATE, ws(ME, A))
    assert not authorize(me, Action.CREATE, ws(ME, B))
    assert not authorize(me, Action.CREATE, ws(OTHER, A))
    assert not authorize(me, Action.READ, ws(OTHER, A))
    assert authorize(me, Action.READ, Object("organization", str(A), None, A))


def test_org_admin_manages_its_organization_only() -> None:
    admin = Subject.user(ME, org_roles={A: ["org-admin"]})
    assert authorize(admin, Action.DELETE, ws(OTHER, A))
    assert not authorize(admin, Action.READ, ws(OTHER, B))
    assert not authorize(admin, Action.DELETE, Object("organization", str(A), None, A))


def test_scope_caps_what_roles_grant() -> None:
    capped = Subject.user(ME, ["owner"], scope=APPLICATION_CONNECT)
    assert authorize(capped, Action.READ, ws(OTHER, A))
    assert not authorize(capped, Action.DELETE, ws(OTHER, A))
    assert not authorize(capped, Action.READ, Object("organization", str(A), None, A))


def test_site_object_needs_a_site_grant() -> None:
    everything = Object("workspace", "*")
    assert authorize(Subject.user(ME, ["owner"]), Action.READ, everything)
    assert not authorize(Subject.user(ME, org_roles={A: ["org-admin"]}), Action.READ, everything)


def test_unknown_roles_are_refused() -> None:
    with pytest.raises(UnknownRole, match="admin"):
        MODEL.user(ME, ["admin"])
    with pytest.raises(UnknownRole, match="org-owner"):
        MODEL.user(ME, org_roles={A: ["org-owner"]})


def test_no_human_role_can_purge() -> None:
    everyone = Subject.user(ME, MODEL.site_roles, {A: MODEL.org_roles})
    for kind in ("audit_log", "api_key"):
        assert not authorize(everyone, Action.PURGE, Object(kind, "*"))


def test_each_binding_has_its_own_decision_cache() -> None:
    subject = Subject.user(ME)
    with authz.as_subject(subject):
        first = authz.current_decisions()
        assert first is not None
        with authz.as_subject(subject):
            assert authz.current_decisions() is not first
        assert authz.current_decisions() is first
    assert authz.current_decisions() is None


def test_decision_cache_is_bounded() -> None:
    cache = authz.DecisionCache(max_size=2)
    for i in range(5):
        cache.put(Action.READ, Object("user", str(i)), True)
    assert cache.get(Action.READ, Object("user", "4")) is True
    assert cache.get(Action.READ, Object("user", "0")) is None
    assert (cache.hits, cache.misses) == (1, 1)
