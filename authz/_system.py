"""System identities: explicit, named permission sets for server internals and workers.

Each identity may do exactly what its entry lists; ``docs/authz.md`` carries
the same table, and a test holds the two together. A new background worker
registers its own narrow identity instead of borrowing a broader one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

from authz._rbac import perms
from authz._subject import Subject, SystemIdentity, as_subject
from authz.errors import UnknownIdentity

__all__ = [
    "AUDIT_PURGER",
    "SYSTEM_IDENTITIES",
    "SYSTEM_RESTRICTED",
    "as_audit_purger",
    "as_system",
    "as_system_restricted",
    "register_identity",
]

_NAMESPACE = uuid.UUID("5e7a1d00-7c1b-4b6e-9a57-000000000000")


def _identity(name: str, description: str, spec: Mapping[str, list[str]]) -> SystemIdentity:
    return SystemIdentity(name, uuid.uuid5(_NAMESPACE, name), description, perms(spec))


SYSTEM_RESTRICTED = _identity(
    "system-restricted",
    "server internals: authenticate requests, look up users and organizations, write audit logs",
    {
        "user": ["read", "use"],
        "organization": ["read"],
        "organization_member": ["read"],
        "api_key": ["read", "use"],
        "oauth2_app": ["read"],
        "oauth2_app_secret": ["read", "use"],
        "audit_log": ["create"],
    },
)

AUDIT_PURGER = _identity(
    "audit-purger",
    "the purge worker: read and delete old audit logs, delete expired API keys",
    {"audit_log": ["read", "purge"], "api_key": ["purge"], "advisory_lock": ["use"]},
)

_REGISTRY: dict[str, SystemIdentity] = {i.name: i for i in (SYSTEM_RESTRICTED, AUDIT_PURGER)}

#: Every registered identity by name (read-only view).
SYSTEM_IDENTITIES: Mapping[str, SystemIdentity] = _REGISTRY


def register_identity(identity: SystemIdentity) -> SystemIdentity:
    """Register a worker's identity so :func:`as_system` can find it by name.

    Raises:
        ValueError: another identity already has this name or id.
    """
    for known in _REGISTRY.values():
        if known.name == identity.name or known.id == identity.id:
            if known == identity:
                return identity
            raise ValueError(f"system identity {identity.name!r} clashes with {known.name!r}")
    _REGISTRY[identity.name] = identity
    return identity


@contextmanager
def as_system(identity: SystemIdentity | str) -> Iterator[Subject]:
    """Act as a registered system identity inside the block.

    Raises:
        UnknownIdentity: no identity of that name is registered.
    """
    if isinstance(identity, str):
        found = _REGISTRY.get(identity)
        if found is None:
            raise UnknownIdentity(
                f"no system identity {identity!r}; registered: {sorted(_REGISTRY)}"
            )
        identity = found
    with as_subject(Subject(identity.id, system=identity)) as subject:
        yield subject


def as_system_restricted() -> AbstractContextManager[Subject]:
    """Act as ``system-restricted``: what server internals need, nothing more."""
    return as_system(SYSTEM_RESTRICTED)


def as_audit_purger() -> AbstractContextManager[Subject]:
    """Act as ``audit-purger``: read and purge old audit logs, purge expired API keys."""
    return as_system(AUDIT_PURGER)
