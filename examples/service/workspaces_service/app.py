"""The HTTP service: an API-key middleware and the workspace handlers, as a Starlette app.

Every request but ``/healthz`` carries ``Authorization: Bearer <id>-<secret>``.
The middleware verifies the key, then runs the handler inside
``authz.as_subject(<the key's user>)`` and ``audit.request_metadata(ip, user agent,
request id)``, so every query is checked as that user and every audit entry names
where the change came from. Errors map to status codes in one place
(:data:`STATUS`); no response or log line carries a token, a DSN or an error's
message from the database.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import structlog
from audit import current_request, request_metadata
from authz import Subject, as_subject, as_system
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from store.errors import (
    CommitOutcomeUnknown,
    ConstraintViolation,
    DatabaseUnavailable,
    NotFound,
    SerializationFailure,
    StoreError,
)
from workspaces import stack
from workspaces.db import Queries, Workspace
from workspaces.policies import SYSTEM_RESTRICTED

from workspaces_service.keys import InvalidKey, authenticate

__all__ = ["REQUEST_ID_HEADER", "STATUS", "ApiKeyMiddleware", "create_app", "error_response"]

log = structlog.get_logger("workspaces_service")

REQUEST_ID_HEADER = "x-request-id"

#: What each store error answers, most specific first. ``NotAuthorized`` is a
#: ``NotFound``: a row the caller may not see is answered exactly like a missing one.
STATUS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (InvalidKey, 401, "unauthorized", "a valid API key is required"),
    (NotFound, 404, "not_found", "no such resource"),
    (ConstraintViolation, 409, "conflict", "the change conflicts with existing data"),
    (SerializationFailure, 409, "conflict", "the change conflicted with another; retry"),
    (DatabaseUnavailable, 503, "unavailable", "the database is unavailable; retry later"),
)


def error_response(exc: Exception, request_id: uuid.UUID) -> JSONResponse | None:
    """The JSON answer for a known error, or None when ``exc`` is not one.

    The body names the error's kind (and a violated constraint's name), never
    its message: database messages can quote values and hosts.
    """
    if isinstance(exc, CommitOutcomeUnknown):
        return JSONResponse(
            {
                "error": "commit_outcome_unknown",
                "detail": "the connection was lost while committing: the change may or may "
                "not have been applied; read it back before retrying",
                "request_id": str(request_id),
            },
            status_code=503,
        )
    for cls, status, code, detail in STATUS:
        if isinstance(exc, cls):
            body: dict[str, Any] = {"error": code, "detail": detail, "request_id": str(request_id)}
            if isinstance(exc, ConstraintViolation) and exc.constraint is not None:
                constraint = exc.constraint
                body["constraint"] = getattr(constraint, "value", str(constraint))
            headers = {"www-authenticate": "Bearer"} if status == 401 else None
            return JSONResponse(body, status_code=status, headers=headers)
    return None


def _request_id(headers: Headers) -> uuid.UUID:
    """The caller's ``X-Request-ID`` when it is a UUID, else a new one."""
    given = headers.get(REQUEST_ID_HEADER, "")
    try:
        return uuid.UUID(given)
    except ValueError:
        return uuid.uuid4()


def _client_ip(scope: Scope) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    client = scope.get("client")
    if not client:
        return None
    try:
        return ipaddress.ip_address(client[0])
    except ValueError:  # a unix socket or a test client's made-up name
        return None


class ApiKeyMiddleware:
    """Authenticates the API key and binds the subject and request metadata for the request.

    Paths in ``public`` skip authentication (and bind no subject). A missing,
    malformed, unknown, wrong or expired key is answered 401 with no hint of which;
    a database outage during the check is answered 503. Every response carries
    ``X-Request-ID``.
    """

    def __init__(self, app: ASGIApp, *, public: frozenset[str] = frozenset({"/healthz"})) -> None:
        self.app = app
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = _request_id(headers)
        send = _with_request_id(send, request_id)
        with (
            request_metadata(
                ip=_client_ip(scope), user_agent=headers.get("user-agent"), request_id=request_id
            ),
            structlog.contextvars.bound_contextvars(request_id=str(request_id)),
        ):
            if scope["path"] in self.public:
                await self.app(scope, receive, send)
                return
            try:
                subject = await self._authenticate(scope, headers)
            except (InvalidKey, StoreError) as exc:
                response = error_response(exc, request_id)
                if response is None:
                    raise
                log.info(
                    "request rejected",
                    status=response.status_code,
                    error=type(exc).__name__,
                    reason=exc.reason if isinstance(exc, InvalidKey) else None,
                )
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["subject"] = subject
            with (
                as_subject(subject),
                structlog.contextvars.bound_contextvars(subject=str(subject.id)),
            ):
                await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope, headers: Headers) -> Subject:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidKey("no bearer token")
        queries: Queries = scope["app"].state.queries
        return await authenticate(queries, token.strip())


def _with_request_id(send: Send, request_id: uuid.UUID) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            message["headers"] = [
                *message["headers"],
                (REQUEST_ID_HEADER.encode(), str(request_id).encode()),
            ]
        await send(message)

    return sending


# -- handlers ------------------------------------------------------------------------------


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organization_id: uuid.UUID
    name: str = Field(min_length=1, max_length=32)


class _Rename(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=32)


def _public(row: Workspace) -> dict[str, Any]:
    return row.model_dump(
        mode="json",
        include={"id", "name", "owner_id", "organization_id", "created_at", "updated_at"},
    )


def _queries(request: Request) -> Queries:
    queries: Queries = request.app.state.queries
    return queries


def _me(request: Request) -> uuid.UUID:
    subject: Subject = request.state.subject
    return subject.id


_M = TypeVar("_M", bound=BaseModel)


async def _body(request: Request, model: type[_M]) -> _M:
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        invalid_json = any(e["type"] == "json_invalid" for e in exc.errors())
        if invalid_json:
            raise HTTPException(400, "the body is not JSON") from None
        fields = ", ".join(".".join(map(str, e["loc"])) or "body" for e in exc.errors())
        raise HTTPException(422, f"invalid fields: {fields}") from None


def _uuid_param(request: Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError:
        raise HTTPException(422, f"{name} is not a UUID") from None


def _int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise HTTPException(422, f"{name} is not an integer") from None
    if not low <= value <= high:
        raise HTTPException(422, f"{name} must be between {low} and {high}")
    return value


async def list_workspaces(request: Request) -> Response:
    """``GET /workspaces``: the caller's live workspaces, newest first (``limit``, ``offset``)."""
    limit = _int_query(request, "limit", 50, 1, 100)
    offset = _int_query(request, "offset", 0, 0, 1_000_000)
    rows = await _queries(request).list_workspaces_by_owner_id(
        owner_id=_me(request), limit_rows=limit, offset_rows=offset
    )
    return JSONResponse({"workspaces": [_public(r) for r in rows]})


async def get_workspace(request: Request) -> Response:
    """``GET /workspaces/{id}``: one live workspace the caller may read, else 404."""
    workspace_id = _uuid_param(request, "id")
    row = await _queries(request).get_workspace_by_id(id=workspace_id)
    if row.deleted:
        raise NotFound("get_workspace_by_id")
    return JSONResponse(_public(row))


async def create_workspace(request: Request) -> Response:
    """``POST /workspaces`` ``{"organization_id", "name"}``: 201, or 409 for a taken name."""
    body = await _body(request, _Create)
    row = await _queries(request).insert_workspace(
        id=uuid.uuid4(),
        owner_id=_me(request),
        organization_id=body.organization_id,
        name=body.name,
        autostart_schedule=None,
        ttl=None,
        created_at=datetime.datetime.now(datetime.UTC),
    )
    return JSONResponse(_public(row), status_code=201)


async def rename_workspace(request: Request) -> Response:
    """``PATCH /workspaces/{id}`` ``{"name"}``: read and rename in one transaction."""
    workspace_id = _uuid_param(request, "id")
    body = await _body(request, _Rename)

    async def rename(tx: Queries) -> Workspace:
        current = await tx.get_workspace_by_id(id=workspace_id)
        if current.deleted:
            raise NotFound("get_workspace_by_id")
        if current.name == body.name:
            return current
        return await tx.update_workspace_name(id=workspace_id, name=body.name)

    row = await _queries(request).in_tx(rename, tx_id="rename_workspace")
    return JSONResponse(_public(row))


async def delete_workspace(request: Request) -> Response:
    """``DELETE /workspaces/{id}``: 204; 404 when missing, deleted or not the caller's to delete."""
    await _queries(request).soft_delete_workspace(id=_uuid_param(request, "id"))
    return Response(status_code=204)


async def healthz(request: Request) -> Response:
    """``GET /healthz``: 200 when the database answers, else 503. Needs no key."""
    with as_system(SYSTEM_RESTRICTED):  # the check runs before (and without) a caller
        await _queries(request).store.ping()
    return JSONResponse({"status": "ok"})


# -- the application ----------------------------------------------------------------------


async def _store_error(request: Request, exc: Exception) -> Response:
    # The middleware bound the request's id; a handler runs inside that binding.
    request_id = current_request().request_id or _request_id(request.headers)
    response = error_response(exc, request_id)
    if response is None:
        raise exc
    log.warning(
        "request failed",
        status=response.status_code,
        error=type(exc).__name__,
        path=request.url.path,
    )
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": "bad_request", "detail": exc.detail}, status_code=exc.status_code)


def create_app(dsn: str, *, options: Mapping[str, Any] | None = None) -> Starlette:
    """The service over the reference application's full stack on ``dsn``.

    The pool opens lazily (``min_size=0`` unless ``options`` say otherwise), so the
    service starts while the database is down and answers 503 until it is back.
    ``options`` go to ``workspaces.stack.connect`` (pool sizes, timeouts).

    Raises nothing itself; the stack's errors surface per request as HTTP statuses.
    """
    settings = {"min_size": 0, "max_size": 10, "acquire_timeout": 5.0, **(options or {})}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.queries = await stack.connect(dsn, **settings)
        try:
            yield
        finally:
            await app.state.queries.store.close()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/workspaces", list_workspaces, methods=["GET"]),
        Route("/workspaces", create_workspace, methods=["POST"]),
        Route("/workspaces/{id}", get_workspace, methods=["GET"]),
        Route("/workspaces/{id}", rename_workspace, methods=["PATCH"]),
        Route("/workspaces/{id}", delete_workspace, methods=["DELETE"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={StoreError: _store_error, HTTPException: _http_error},
    )
    app.add_middleware(ApiKeyMiddleware)
    return app
