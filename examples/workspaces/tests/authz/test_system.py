"""System identities: the docs table matches the code, and each may do exactly what it lists."""

from __future__ import annotations

import datetime
import re
from collections.abc import AsyncIterator
from pathlib import Path

import authz
import pytest
import pytest_asyncio
import store
from authz import Object
from authz.errors import NotAuthorized, PolicyError, UnknownIdentity

from tests._layers import with_authz
from tests.authz import _factories as f
from tests.authz._model import variant
from tests.authz._world import World, build
from workspaces.db import CONSTRAINTS, Queries, UserStatus
from workspaces.policies import AUDIT_PURGER, MODEL, SYSTEM_RESTRICTED

# The reference application's identities are documented with the framework's docs.
DOCS = Path(__file__).resolve().parents[4] / "docs" / "authz.md"
TYPES = sorted(MODEL.object_types)


def _documented() -> dict[str, dict[str, set[str]]]:
    """The identities table of docs/authz.md: name -> type -> actions."""
    text = DOCS.read_text()
    section = text.split("## System identities", 1)[1].split("\n## ", 1)[0]
    found: dict[str, dict[str, set[str]]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        granted: dict[str, set[str]] = {}
        for part in cells[2].split(";"):
            kind, _, actions = part.partition(":")
            granted[kind.strip().strip("`")] = {a.strip() for a in actions.split(",")}
        found[cells[0].strip("`")] = granted
    return found


def test_docs_table_lists_every_identity_with_its_permissions() -> None:
    in_code = {
        name: {t: {str(a) for a in acts} for t, acts in ident.permissions.items()}
        for name, ident in MODEL.system_identities.items()
    }
    assert _documented() == in_code


@pytest.mark.parametrize("name", sorted(MODEL.system_identities))
def test_identity_may_do_exactly_its_permissions(name: str) -> None:
    identity = MODEL.identity(name)
    with authz.as_system(identity) as subject:
        assert authz.current_subject() is subject
    for kind in TYPES:
        for action in sorted(MODEL.actions):
            obj = Object(kind, "x")
            expected = action in identity.permissions.get(kind, ())
            assert MODEL.authorize(subject, action, obj) is expected, (kind, action)
    assert set(identity.permissions) <= set(TYPES), "permissions name an unknown object type"


def test_unknown_identity_is_refused() -> None:
    with pytest.raises(UnknownIdentity):
        MODEL.identity("everything")


async def test_an_identity_outside_the_model_is_refused_by_the_store(
    setup: tuple[Queries, Queries, World],
) -> None:
    _, s, w = setup
    impostor = authz.system_identity("impostor", "not in the model", {"user": ["read"]})
    with authz.as_system(impostor), pytest.raises(UnknownIdentity, match="impostor"):
        await s.get_user_by_id(id=w.member_a.id)


@pytest_asyncio.fixture
async def setup(db_dsn: str) -> AsyncIterator[tuple[Queries, Queries, World]]:
    pg = Queries(await store.connect(db_dsn, min_size=1, max_size=2, constraints=CONSTRAINTS))
    try:
        yield pg, with_authz(pg), await build(pg)
    finally:
        await pg.store.close()


async def test_audit_purger_purges_and_does_nothing_else(
    setup: tuple[Queries, Queries, World],
) -> None:
    pg, s, w = setup
    cutoff = f.NOW - datetime.timedelta(days=90)
    await f.api_key(pg, w.member_a, expires_at=cutoff - datetime.timedelta(days=1))
    old = await f.audit_log(pg, w.member_a.id, None, time=cutoff - datetime.timedelta(days=1))
    with authz.as_system(AUDIT_PURGER):
        found = await s.search_audit_logs(
            resource_type=None, resource_id=None, user_id=None, organization_id=None, action=None,
            from_time=None, to_time=cutoff, limit_rows=10, offset_rows=0,
        )  # fmt: skip
        assert [r.id for r in found] == [old.id]
        assert (await s.get_audit_log_by_id(id=old.id)).id == old.id
        assert await s.delete_expired_api_keys(before=cutoff, batch_size=100) == 1
        assert await s.delete_audit_logs_before(before=cutoff, batch_size=100) == 1
        for attempt in (
            lambda: s.get_user_by_id(id=w.member_a.id),
            lambda: s.delete_api_key(id=w.key.id),
            lambda: s.get_workspace_by_id(id=w.ws.id),
            lambda: s.delete_api_keys_by_user_id(user_id=w.member_a.id),
            lambda: f.audit_log(s, w.member_a.id, None),
        ):
            with pytest.raises(NotAuthorized):
                await attempt()
        assert await s.list_users(search=None, status=None, limit_rows=10, offset_rows=0) == []


async def test_system_restricted_reads_users_and_writes_audit_logs_only(
    setup: tuple[Queries, Queries, World],
) -> None:
    _, s, w = setup
    with authz.as_system(SYSTEM_RESTRICTED):
        assert (await s.get_user_by_id(id=w.member_a.id)).id == w.member_a.id
        assert (await s.get_organization_by_id(id=w.org_a.id)).id == w.org_a.id
        assert (await s.get_api_key_by_id(id=w.key.id)).id == w.key.id
        await s.update_user_last_seen_at(last_seen_at=f.NOW, id=w.member_a.id)
        await f.audit_log(s, w.member_a.id, None)
        later = f.NOW + datetime.timedelta(days=400)
        for attempt in (
            lambda: s.delete_expired_api_keys(before=later, batch_size=10),
            lambda: s.delete_audit_logs_before(before=later, batch_size=10),
            lambda: s.get_audit_log_by_id(id=w.log.id),
            lambda: s.get_workspace_by_id(id=w.ws.id),
            lambda: s.delete_api_key(id=w.key.id),
            lambda: s.update_user_status(
                status=UserStatus.SUSPENDED, updated_at=f.NOW, id=w.member_a.id
            ),
        ):
            with pytest.raises(NotAuthorized):
                await attempt()
        assert len(await s.list_users(search=None, status=None, limit_rows=50, offset_rows=0)) == 7


async def test_site_owner_cannot_run_system_only_queries(
    setup: tuple[Queries, Queries, World],
) -> None:
    _, s, w = setup
    with authz.as_subject(w.subject(w.site_owner)), pytest.raises(NotAuthorized):
        await s.delete_audit_logs_before(before=f.NOW, batch_size=10)


def test_a_model_refuses_two_identities_of_one_name() -> None:
    clash = authz.SystemIdentity(
        "audit-purger", AUDIT_PURGER.id, "impostor", AUDIT_PURGER.permissions
    )
    with pytest.raises(PolicyError, match="clashes"):
        variant(system_identities=(SYSTEM_RESTRICTED, AUDIT_PURGER, clash))
    assert re.fullmatch(r"[0-9a-f-]{36}", str(AUDIT_PURGER.id))
