"""The blog's audit configuration: what is recorded, and where.

``TABLE`` classifies every field of every audited row (``TRACK``, ``IGNORE``
or ``SECRET``, with the reason for the last two); ``MUTATIONS`` declares every
query that writes an audited table. Entries go to ``audit_log`` (txstore's
default audit table) through ``insert_audit_log``, written as the blog's
system identity. An incomplete or stale entry fails ``audit.AuditStore``'s
construction and ``txstore lint``, naming this file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from audit import (
    IGNORE,
    SECRET,
    TRACK,
    Auditable,
    Audited,
    Config,
    DatabaseAuditor,
    Lookup,
    Resource,
    Unaudited,
)

from blog import db
from blog.policies import SYSTEM

__all__ = ["AUDIT", "CREATE", "DELETE", "MUTATIONS", "TABLE", "WRITE"]

CREATE = "create"
WRITE = "write"
DELETE = "delete"

_CREATED = (IGNORE, "set once on insert; the create entry's time records it")
_UPDATED = (IGNORE, "changes with every write; each entry's time records it")

TABLE: Final[tuple[Auditable, ...]] = (
    Auditable(
        table="authors",
        model=db.Author,
        fields={
            "id": TRACK,
            "email": TRACK,
            "name": TRACK,
            "roles": TRACK,
            "status": TRACK,
            "created_at": _CREATED,
            "updated_at": _UPDATED,
        },
    ),
    Auditable(
        table="posts",
        model=db.Post,
        fields={
            "id": TRACK,
            "author_id": TRACK,
            "title": TRACK,
            "body": TRACK,
            "published": TRACK,
            "published_at": TRACK,
            "created_at": _CREATED,
            "updated_at": _UPDATED,
        },
    ),
    Auditable(
        table="comments",
        model=db.Comment,
        fields={
            "id": TRACK,
            "post_id": TRACK,
            "author_id": TRACK,
            "body": TRACK,
            "created_at": _CREATED,
        },
    ),
    Auditable(
        table="api_tokens",
        model=db.APIToken,
        fields={
            "id": TRACK,
            "author_id": TRACK,
            "name": TRACK,
            "prefix": TRACK,  # public: sent in clear before the secret
            "hashed_secret": (SECRET, "a hash of a token's secret is still a credential"),
            "created_at": _CREATED,
            "last_used_at": (IGNORE, "usage bookkeeping"),
        },
    ),
)

NOT_AUDITED: Final[Mapping[str, str]] = {"audit_log": "the audit log itself: append-only"}

_AUTHOR = Lookup("get_author_by_id")
_POST = Lookup("get_post_by_id")
_TOKEN = Lookup("get_api_token_by_id")

RESOURCES: Final[Mapping[str, Resource]] = {
    "authors": Resource("author", target="email"),
    "posts": Resource("post", target="title"),
    "comments": Resource("comment"),
    "api_tokens": Resource("api_token", target="name"),
}

MUTATIONS: Final[Mapping[str, Audited | Unaudited]] = {
    "insert_author": Audited(CREATE),
    "update_author_name": Audited(WRITE, _AUTHOR),
    "update_author_status": Audited(WRITE, _AUTHOR),
    "update_author_roles": Audited(WRITE, _AUTHOR),
    "insert_post": Audited(CREATE),
    "update_post": Audited(WRITE, _POST),
    "publish_post": Audited(WRITE, _POST),
    "delete_post": Audited(DELETE),
    "insert_comment": Audited(CREATE),
    "insert_api_token": Audited(CREATE),
    "rotate_api_token": Audited(WRITE, _TOKEN),
    "delete_api_token": Audited(DELETE),
}

AUDIT = Config(
    queries=db.QUERIES,
    table=TABLE,
    not_audited=NOT_AUDITED,
    mutations=MUTATIONS,
    resources=RESOURCES,
    auditor=DatabaseAuditor(db.INSERT_AUDIT_LOG, identity=SYSTEM),
    create=CREATE,
    delete=DELETE,
)
