"""The blog's declarative tables check themselves and name the blog's files."""

from __future__ import annotations

import pytest
from authz import Model
from authz.errors import PolicyError

from blog import checks, db
from blog.policies import ACTIONS, OBJECT_TYPES, POLICIES, ROLES


def test_the_declared_tables_have_no_problems() -> None:
    assert checks.check_audit() == []
    assert checks.check_policies() == []


def test_a_query_without_a_policy_fails_naming_this_file() -> None:
    partial = {name: p for name, p in POLICIES.items() if name != "list_posts"}
    with pytest.raises(PolicyError) as raised:
        Model(
            queries=db.QUERIES,
            policies=partial,
            actions=ACTIONS,
            object_types=OBJECT_TYPES,
            site_roles=ROLES,
        )
    (problem,) = raised.value.problems
    assert "list_posts" in problem
    assert "test_checks.py" in problem
