"""The blog's authorization model: its roles, its system identity, a policy per query.

``MODEL`` is handed to ``authz.AuthzStore``. A query without a policy here
fails its construction (deny by default) and ``txstore lint``, naming this
file. Three site roles: a ``reader`` comments and reads what is published, an
``author`` also writes and publishes its own posts and keeps its own API
tokens, an ``editor`` edits, publishes and deletes anyone's posts and manages
authors (making authors and readers, never editors). A suspended author is
denied everything (:func:`revoked`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from authz import (
    Action,
    Model,
    Open,
    Policy,
    Resource,
    Role,
    Subject,
    filtered,
    insert,
    mutate,
    perms,
    read,
    roles,
    site,
    system_identity,
    system_only,
)
from store import Store
from store.errors import NotFound

from blog import db

__all__ = ["ACTIONS", "MODEL", "OBJECT_TYPES", "POLICIES", "ROLES", "SYSTEM", "revoked"]

# -- vocabulary ------------------------------------------------------------------------

#: Make a draft public.
PUBLISH = "publish"
#: Suspend or reinstate an author.
SUSPEND = "suspend"
ACTIONS = frozenset({*Action, PUBLISH, SUSPEND})
OBJECT_TYPES = frozenset({"author", "post", "comment", "api_token", "audit_log"})

_R, _C, _U, _D, _AR = Action.READ, Action.CREATE, Action.UPDATE, Action.DELETE, Action.ASSIGN_ROLE

# -- roles -----------------------------------------------------------------------------

_READER_OWN: dict[str, list[str]] = {"author": [_R, _U], "comment": [_C, _D]}
_AUTHOR_OWN: dict[str, list[str]] = {
    **_READER_OWN,
    "post": [_R, _C, _U, _D, PUBLISH],
    "api_token": [_R, _C, _U, _D],
}
_EVERYONE: dict[str, list[str]] = {"author": [_R], "comment": [_R]}

ROLES: tuple[Role, ...] = (
    Role("reader", site=perms(_EVERYONE), owned=perms(_READER_OWN)),
    Role("author", site=perms(_EVERYONE), owned=perms(_AUTHOR_OWN)),
    Role(
        "editor",
        site=perms(
            {
                "author": [_R, _C, _U, _AR, SUSPEND],
                "post": [_R, _U, _D, PUBLISH],
                "comment": [_R, _D],
                "audit_log": [_R],
            }
        ),
        owned=perms(_AUTHOR_OWN),
        # The ceiling: an editor makes authors and readers, never another editor.
        assigns=frozenset({"author", "reader"}),
    ),
)

# -- the system identity ---------------------------------------------------------------

#: Server internals: check an API token's secret, look up its author, write audit rows.
SYSTEM = system_identity(
    "blog-system",
    "authenticate API tokens, look up their authors, write the audit log",
    {"api_token": [_R], "author": [_R], "audit_log": [_C]},
)

# -- how rows name their objects ---------------------------------------------------------

AUTHOR = Resource("author", ("id",), owner="id", org=None)
#: A new author: no id yet, a site-level ``create``.
NEW_AUTHOR = Resource("author", (), owner=None, org=None)
#: A post is its author's; a published one is readable by every signed-in subject.
POST = Resource("post", ("id",), owner="author_id", org=None, open=Open("published", True))
NEW_POST = Resource("post", (), owner="author_id", org=None)
NEW_COMMENT = Resource("comment", (), owner="author_id", org=None)
API_TOKEN = Resource("api_token", ("id",), owner="author_id", org=None)
NEW_API_TOKEN = Resource("api_token", (), owner="author_id", org=None)

POLICIES: Mapping[str, Policy] = MappingProxyType(
    {
        # authors.sql
        "insert_author": roles(insert(NEW_AUTHOR), "roles"),
        "get_author_by_id": read(AUTHOR),
        "update_author_name": mutate(AUTHOR, _U, db.GET_AUTHOR_BY_ID),
        "update_author_status": mutate(AUTHOR, SUSPEND, db.GET_AUTHOR_BY_ID),
        "update_author_roles": roles(
            mutate(AUTHOR, _AR, db.GET_AUTHOR_BY_ID), "roles", get=db.GET_AUTHOR_BY_ID
        ),
        # posts.sql
        "insert_post": insert(NEW_POST),
        "get_post_by_id": read(POST),
        "list_posts": filtered(POST),
        "update_post": mutate(POST, _U, db.GET_POST_BY_ID),
        "publish_post": mutate(POST, PUBLISH, db.GET_POST_BY_ID),
        "delete_post": mutate(POST, _D, db.GET_POST_BY_ID),
        # comments.sql
        "insert_comment": insert(NEW_COMMENT),
        "list_comments_by_post_id": site("comment", _R),
        # api_tokens.sql
        "insert_api_token": insert(NEW_API_TOKEN),
        "get_api_token_by_prefix": read(API_TOKEN),
        "get_api_token_by_id": read(API_TOKEN),
        "rotate_api_token": mutate(API_TOKEN, _U, db.GET_API_TOKEN_BY_ID),
        "delete_api_token": mutate(API_TOKEN, _D, db.GET_API_TOKEN_BY_ID),
        # audit_log.sql
        "insert_audit_log": system_only("audit_log", _C),
        "list_audit_log_for_resource": site("audit_log", _R),
    }
)


async def revoked(store: Store, subject: Subject) -> bool:
    """True when the subject is a suspended author.

    Asked once per subject binding, with the blog's own query on the store
    below authorization. An id with no author row is not revoked (system
    identities and subjects of tests that store no author). Raises nothing
    beyond the store's errors.
    """
    try:
        author = await store.fetch_one(db.GET_AUTHOR_BY_ID, (subject.id,))
    except NotFound:
        return False
    return author.status is db.AuthorStatus.SUSPENDED


MODEL = Model(
    queries=db.QUERIES,
    policies=POLICIES,
    actions=ACTIONS,
    object_types=OBJECT_TYPES,
    site_roles=ROLES,
    system_identities=(SYSTEM,),
    revoked=revoked,
)
