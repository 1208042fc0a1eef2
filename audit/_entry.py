"""One audit entry, and the request metadata that travels in a context variable."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

from pydantic import JsonValue

from audit._diff import Change, diff_json

__all__ = ["AuditEntry", "IPAddress", "RequestMetadata", "current_request", "request_metadata"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class RequestMetadata:
    """Where a change came from: client address, user agent, request id."""

    ip: IPAddress | None = None
    user_agent: str | None = None
    request_id: uuid.UUID | None = None


_NONE = RequestMetadata()
_REQUEST: ContextVar[RequestMetadata | None] = ContextVar("txstore_audit_request", default=None)


def current_request() -> RequestMetadata:
    """The request metadata set by the innermost :func:`request_metadata`, else empty."""
    return _REQUEST.get() or _NONE


@contextlib.contextmanager
def request_metadata(
    *,
    ip: str | IPAddress | None = None,
    user_agent: str | None = None,
    request_id: str | uuid.UUID | None = None,
) -> Iterator[RequestMetadata]:
    """Attach request metadata to every entry recorded inside the block (and its tasks).

    Raises:
        ValueError: ``ip`` is not an IP address or ``request_id`` not a UUID.
    """
    metadata = RequestMetadata(
        ip=ipaddress.ip_address(ip) if isinstance(ip, str) else ip,
        user_agent=user_agent,
        request_id=uuid.UUID(request_id) if isinstance(request_id, str) else request_id,
    )
    token = _REQUEST.set(metadata)
    try:
        yield metadata
    finally:
        _REQUEST.reset(token)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What an auditor records about one audited change."""

    id: uuid.UUID
    time: datetime.datetime
    actor_id: uuid.UUID
    org_id: uuid.UUID | None
    resource_type: str
    resource_id: str
    resource_target: str
    action: str
    diff: Mapping[str, Change]
    request: RequestMetadata = RequestMetadata()
    query: str = ""  # the query method that made the change
    status_code: int = 200
    additional_fields: Mapping[str, JsonValue] = field(default_factory=dict)

    def diff_json(self) -> dict[str, JsonValue]:
        """The diff as an audit table stores it (JSON); secret fields carry no value."""
        return diff_json(self.diff)

    def log_fields(self) -> dict[str, object]:
        """Key-value pairs for a structured log event (no secret values, by construction)."""
        return {
            "audit_id": str(self.id),
            "time": self.time.isoformat(),
            "actor_id": str(self.actor_id),
            "org_id": str(self.org_id) if self.org_id else None,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "resource_target": self.resource_target,
            "action": str(self.action),
            "query": self.query,
            "diff": self.diff_json(),
            "ip": str(self.request.ip) if self.request.ip else None,
            "user_agent": self.request.user_agent,
            "request_id": str(self.request.request_id) if self.request.request_id else None,
        }
