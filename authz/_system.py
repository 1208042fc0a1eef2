"""System identities: explicit, named permission sets for server internals and workers.

An application declares each identity it uses (:func:`system_identity`) and
lists it in its model; ``AuthzStore`` honours only the identities of its model.
A new background worker gets its own narrow identity instead of borrowing a
broader one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from authz._rbac import perms
from authz._subject import Subject, SystemIdentity, as_subject

__all__ = ["as_system", "system_identity"]

_NAMESPACE = uuid.UUID("5e7a1d00-7c1b-4b6e-9a57-000000000000")


def system_identity(
    name: str, description: str, permissions: Mapping[str, Iterable[str]]
) -> SystemIdentity:
    """An identity whose id is derived from its name (stable across processes). Raises nothing."""
    return SystemIdentity(name, uuid.uuid5(_NAMESPACE, name), description, perms(permissions))


@contextmanager
def as_system(identity: SystemIdentity) -> Iterator[Subject]:
    """Act as ``identity`` inside the block (and the tasks started in it). Raises nothing."""
    with as_subject(Subject(identity.id, system=identity)) as subject:
        yield subject
