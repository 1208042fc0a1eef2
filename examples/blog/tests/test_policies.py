"""The blog's authorization model, through the full stack on real PostgreSQL."""

from __future__ import annotations

import pytest
from authz import as_subject, as_system
from authz.errors import NoSubject, NotAuthorized, UnknownRole

from blog.db import AuthorStatus, Post, Queries
from blog.policies import MODEL, SYSTEM
from tests._people import People, token_secret


async def _post(app: Queries, people: People, *, published: bool, title: str = "Mine") -> Post:
    with as_subject(people.subject(people.ann)):
        post = await app.insert_post(author_id=people.ann.id, title=title, body="text")
        return await app.publish_post(id=post.id) if published else post


async def test_another_author_cannot_edit_my_post(app: Queries, people: People) -> None:
    post = await _post(app, people, published=True)
    with as_subject(people.subject(people.bob)), pytest.raises(NotAuthorized):
        await app.update_post(id=post.id, title="Taken", body="over")
    with as_subject(people.subject(people.ann)):
        assert (await app.get_post_by_id(id=post.id)).title == "Mine"


async def test_the_author_and_an_editor_edit_a_post(app: Queries, people: People) -> None:
    post = await _post(app, people, published=False)
    with as_subject(people.subject(people.ann)):
        assert (await app.update_post(id=post.id, title="Mine, v2", body="b")).title == "Mine, v2"
    with as_subject(people.subject(people.eve)):
        edited = await app.update_post(id=post.id, title="Mine, edited", body="b")
    assert edited.title == "Mine, edited"


async def test_an_author_cannot_write_a_post_as_someone_else(app: Queries, people: People) -> None:
    with as_subject(people.subject(people.bob)), pytest.raises(NotAuthorized):
        await app.insert_post(author_id=people.ann.id, title="Forged", body="")


async def test_a_reader_cannot_write_posts(app: Queries, people: People) -> None:
    with as_subject(people.subject(people.rob)), pytest.raises(NotAuthorized):
        await app.insert_post(author_id=people.rob.id, title="Mine", body="")


async def test_a_draft_is_invisible_to_others(app: Queries, people: People) -> None:
    draft = await _post(app, people, published=False, title="Draft")
    for other in (people.bob, people.rob):
        with as_subject(people.subject(other)):
            with pytest.raises(NotAuthorized):
                await app.get_post_by_id(id=draft.id)
            assert draft.id not in {p.id for p in await app.list_posts(limit_rows=50)}
    with as_subject(people.subject(people.ann)):
        assert [p.id for p in await app.list_posts(limit_rows=50)] == [draft.id]


async def test_a_published_post_is_visible_and_listed(app: Queries, people: People) -> None:
    draft = await _post(app, people, published=False, title="Draft")
    public = await _post(app, people, published=True, title="Public")
    for reader in (people.bob, people.rob):
        with as_subject(people.subject(reader)):
            assert (await app.get_post_by_id(id=public.id)).title == "Public"
            assert [p.id for p in await app.list_posts(limit_rows=50)] == [public.id]
    with as_subject(people.subject(people.ann)):
        assert {p.id for p in await app.list_posts(limit_rows=50)} == {draft.id, public.id}


async def test_published_is_read_only_for_others(app: Queries, people: People) -> None:
    public = await _post(app, people, published=True)
    with as_subject(people.subject(people.bob)), pytest.raises(NotAuthorized):
        await app.delete_post(id=public.id)
    with as_subject(people.subject(people.rob)):
        assert (await app.get_post_by_id(id=public.id)).id == public.id


async def test_a_suspended_author_is_denied(app: Queries, people: People) -> None:
    public = await _post(app, people, published=True)
    with as_subject(people.subject(people.eve)):
        suspended = await app.update_author_status(id=people.ann.id, status=AuthorStatus.SUSPENDED)
    assert suspended.status is AuthorStatus.SUSPENDED
    with as_subject(people.subject(people.ann)):
        with pytest.raises(NotAuthorized):
            await app.get_post_by_id(id=public.id)
        with pytest.raises(NotAuthorized):
            await app.insert_post(author_id=people.ann.id, title="Still here?", body="")
    with as_subject(people.subject(people.rob)):  # her published post stays readable
        assert (await app.get_post_by_id(id=public.id)).id == public.id


async def test_only_an_editor_suspends(app: Queries, people: People) -> None:
    with as_subject(people.subject(people.bob)), pytest.raises(NotAuthorized):
        await app.update_author_status(id=people.ann.id, status=AuthorStatus.SUSPENDED)


async def test_an_editor_cannot_make_an_editor(app: Queries, people: People) -> None:
    with as_subject(people.subject(people.eve)):
        with pytest.raises(NotAuthorized):
            await app.update_author_roles(id=people.rob.id, roles=["editor"])
        promoted = await app.update_author_roles(id=people.rob.id, roles=["author"])
    assert promoted.roles == ["author"]


async def test_an_author_cannot_change_roles(app: Queries, people: People) -> None:
    with as_subject(people.subject(people.ann)), pytest.raises(NotAuthorized):
        await app.update_author_roles(id=people.ann.id, roles=["editor"])


async def test_a_role_the_model_lacks_is_refused() -> None:
    with pytest.raises(UnknownRole):
        MODEL.user(MODEL.system_identities["blog-system"].id, ["admin"])


async def test_no_subject_is_denied(app: Queries, people: People) -> None:
    with pytest.raises(NoSubject):
        await app.list_posts(limit_rows=10)


async def test_api_tokens_are_their_authors(app: Queries, people: People) -> None:
    with as_subject(people.subject(people.ann)):
        token = await app.insert_api_token(
            author_id=people.ann.id, name="cli", prefix="tokAnn01", hashed_secret=token_secret("a")
        )
    with as_subject(people.subject(people.bob)), pytest.raises(NotAuthorized):
        await app.get_api_token_by_id(id=token.id)
    with as_subject(people.subject(people.eve)), pytest.raises(NotAuthorized):
        await app.delete_api_token(id=token.id)
    with as_system(SYSTEM):  # authenticating a request: the system identity finds the token
        found = await app.get_api_token_by_prefix(prefix="tokAnn01")
        assert found.author_id == people.ann.id
        with pytest.raises(NotAuthorized):  # and may do nothing else
            await app.delete_api_token(id=token.id)


async def test_comments_are_read_by_everyone_and_written_as_oneself(
    app: Queries, people: People
) -> None:
    public = await _post(app, people, published=True)
    with as_subject(people.subject(people.rob)):
        await app.insert_comment(post_id=public.id, author_id=people.rob.id, body="Nice.")
        with pytest.raises(NotAuthorized):
            await app.insert_comment(post_id=public.id, author_id=people.bob.id, body="Forged")
    with as_subject(people.subject(people.bob)):
        comments = await app.list_comments_by_post_id(post_id=public.id)
    assert [(c.author_id, c.body) for c in comments] == [(people.rob.id, "Nice.")]
