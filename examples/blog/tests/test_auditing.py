"""The blog's audit log: one entry per audited write, in the change's transaction, no secrets."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

import asyncpg
import pytest
from audit import Audited, AuditStore
from authz import AuthzStore, as_subject
from authz.errors import NotAuthorized

from blog.auditing import AUDIT, MUTATIONS
from blog.db import AuditLog, AuthorStatus, Queries
from blog.policies import MODEL
from tests._people import People, token_secret


async def _audit_rows(dsn: str) -> list[str]:
    """Every audit_log row as JSON text, read with a plain connection (no layer in the way)."""
    conn = await asyncpg.connect(dsn)
    try:
        return [
            r["row"]
            for r in await conn.fetch("SELECT row_to_json(a)::text AS row FROM audit_log a")
        ]
    finally:
        await conn.close()


def _diff(entry: AuditLog) -> Mapping[str, object]:
    assert isinstance(entry.diff, dict), entry.diff
    return entry.diff


async def _entries(pg: Queries, kind: str, id: uuid.UUID) -> list[AuditLog]:
    return await pg.list_audit_log_for_resource(resource_type=kind, resource_id=str(id))


async def test_every_audited_write_has_exactly_one_entry(
    app: Queries, pg: Queries, people: People
) -> None:
    with as_subject(people.subject(people.ann)):
        post = await app.insert_post(author_id=people.ann.id, title="One", body="a")
        await app.update_post(id=post.id, title="Two", body="a")
        await app.publish_post(id=post.id)
    with as_subject(people.subject(people.eve)):
        await app.delete_post(id=post.id)
    entries = await _entries(pg, "post", post.id)
    assert [e.action for e in entries] == ["create", "write", "write", "delete"]
    assert {e.user_id for e in entries[:3]} == {people.ann.id}
    assert entries[3].user_id == people.eve.id
    assert all(e.resource_target in {"One", "Two"} for e in entries)


async def test_an_update_records_its_diff(app: Queries, pg: Queries, people: People) -> None:
    with as_subject(people.subject(people.ann)):
        post = await app.insert_post(author_id=people.ann.id, title="Old", body="same")
        await app.update_post(id=post.id, title="New", body="same")
    create, write = await _entries(pg, "post", post.id)
    assert _diff(create)["title"] == {"old": None, "new": "Old"}
    # Only what changed; updated_at is IGNORE.
    assert write.diff == {"title": {"old": "Old", "new": "New"}}


async def test_a_suspension_records_who_and_what(app: Queries, pg: Queries, people: People) -> None:
    with as_subject(people.subject(people.eve)):
        await app.update_author_status(id=people.bob.id, status=AuthorStatus.SUSPENDED)
    (entry,) = await _entries(pg, "author", people.bob.id)
    assert (entry.user_id, entry.action, entry.resource_target) == (
        people.eve.id,
        "write",
        "bob@blog.test",
    )
    assert entry.diff == {"status": {"old": "active", "new": "suspended"}}


async def test_a_denied_write_has_no_entry(app: Queries, pg: Queries, people: People) -> None:
    with as_subject(people.subject(people.ann)):
        post = await app.insert_post(author_id=people.ann.id, title="Mine", body="")
    with as_subject(people.subject(people.bob)), pytest.raises(NotAuthorized):
        await app.update_post(id=post.id, title="Taken", body="")
    assert [e.action for e in await _entries(pg, "post", post.id)] == ["create"]


async def test_a_rolled_back_transaction_keeps_no_entry(
    app: Queries, people: People, db_dsn: str
) -> None:
    class Abandon(Exception):
        pass

    async def write_then_fail(tx: Queries) -> None:
        await tx.insert_post(author_id=people.ann.id, title="Gone", body="")
        raise Abandon

    with as_subject(people.subject(people.ann)), pytest.raises(Abandon):
        await app.in_tx(write_then_fail, tx_id="abandoned_post")
    with as_subject(people.subject(people.ann)):
        assert await app.list_posts(limit_rows=10) == []
    assert await _audit_rows(db_dsn) == []


async def test_the_token_secret_never_appears_in_an_audit_row(
    app: Queries, pg: Queries, people: People, db_dsn: str
) -> None:
    first, second = token_secret("first"), token_secret("second")
    with as_subject(people.subject(people.ann)):
        token = await app.insert_api_token(
            author_id=people.ann.id, name="cli", prefix="tokAnn01", hashed_secret=first
        )
        await app.rotate_api_token(id=token.id, hashed_secret=second)
        await app.delete_api_token(id=token.id)
    entries = await _entries(pg, "api_token", token.id)
    assert [e.action for e in entries] == ["create", "write", "delete"]
    assert [_diff(e)["hashed_secret"] for e in entries] == [{"secret": True}] * 3
    assert _diff(entries[0])["prefix"] == {"old": None, "new": "tokAnn01"}
    rows = await _audit_rows(db_dsn)
    assert len(rows) == 3
    for secret in (first, second):
        for needle in (secret.hex(), secret.hex().upper(), repr(secret)[2:-1]):
            assert not any(needle in row for row in rows)
    assert all(json.loads(row)["diff"]["hashed_secret"] == {"secret": True} for row in rows)


async def test_audit_over_authz_is_the_stack_the_blog_connects(pg: Queries, people: People) -> None:
    # The same layers built piecewise: AuditStore over AuthzStore over the bare store.
    q = Queries(AuditStore(AuthzStore(pg.store, MODEL), AUDIT))
    with as_subject(people.subject(people.rob)):
        await q.update_author_name(id=people.rob.id, name="Robert")
    (entry,) = await _entries(pg, "author", people.rob.id)
    assert entry.diff == {"name": {"old": "Rob", "new": "Robert"}}


async def test_each_audited_mutation_writes_one_entry(
    app: Queries, people: People, db_dsn: str
) -> None:
    # Every query declared Audited, called once through the full stack: a mutation added
    # to MUTATIONS without a case here fails the last assertion.
    calls: list[str] = []
    with as_subject(people.subject(people.eve)):
        author = await app.insert_author(email="new@blog.test", name="New", roles=["reader"])
        calls.append("insert_author")
        await app.update_author_name(id=author.id, name="Newer")
        calls.append("update_author_name")
        await app.update_author_roles(id=author.id, roles=["author"])
        calls.append("update_author_roles")
        await app.update_author_status(id=author.id, status=AuthorStatus.SUSPENDED)
        calls.append("update_author_status")
    with as_subject(people.subject(people.ann)):
        post = await app.insert_post(author_id=people.ann.id, title="T", body="b")
        calls.append("insert_post")
        await app.update_post(id=post.id, title="T2", body="b")
        calls.append("update_post")
        await app.publish_post(id=post.id)
        calls.append("publish_post")
        await app.insert_comment(post_id=post.id, author_id=people.ann.id, body="c")
        calls.append("insert_comment")
        token = await app.insert_api_token(
            author_id=people.ann.id, name="t", prefix="tokAnn02", hashed_secret=token_secret("c")
        )
        calls.append("insert_api_token")
        await app.rotate_api_token(id=token.id, hashed_secret=token_secret("d"))
        calls.append("rotate_api_token")
        await app.delete_api_token(id=token.id)
        calls.append("delete_api_token")
        await app.delete_post(id=post.id)
        calls.append("delete_post")
    assert len(await _audit_rows(db_dsn)) == len(calls)
    assert sorted(calls) == sorted(n for n, d in MUTATIONS.items() if isinstance(d, Audited))
