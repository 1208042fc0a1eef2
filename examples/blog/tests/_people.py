"""The people of the blog's tests, stored as author rows and acting as subjects."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from authz import Subject

from blog.db import Author, Queries
from blog.policies import MODEL


@dataclass(frozen=True)
class People:
    """Eve edits, Ann and Bob write, Rob reads."""

    eve: Author
    ann: Author
    bob: Author
    rob: Author

    def subject(self, who: Author) -> Subject:
        """``who`` as a subject of the blog's model, with its stored roles."""
        return MODEL.user(who.id, who.roles)


async def register(pg: Queries) -> People:
    """Store the four people (no layers: this is the test's setup)."""

    async def one(name: str, role: str) -> Author:
        return await pg.insert_author(email=f"{name}@blog.test", name=name.title(), roles=[role])

    return People(
        eve=await one("eve", "editor"),
        ann=await one("ann", "author"),
        bob=await one("bob", "author"),
        rob=await one("rob", "reader"),
    )


def token_secret(label: str) -> bytes:
    """The stored hash of a token secret: 32 bytes, distinct per label."""
    return hashlib.sha256(f"blog-test-token-{label}".encode()).digest()
