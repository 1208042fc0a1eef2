"""TracingStore: an OpenTelemetry span per query and per transaction, as a ``Store`` layer.

``opentelemetry-api`` is an optional extra (``txstore[otel]``); importing this
module without it raises ImportError naming the extra. Nothing else in the
store imports it, so a service without the extra pays nothing: no layer, no
check on any call.

Spans carry names and classifications, never values: the span name is the
query's name (or the transaction's ``tx_id``), set when the span starts so a
sampler can decide on it; no parameter, row or error message (a constraint
error's detail quotes the offending value) is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

try:
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        "store tracing needs opentelemetry-api: pip install 'txstore[otel]'"
    ) from missing

from store._pool import Pool
from store._query import Query, RowT
from store._store import Store
from store._tx import Isolation, poison_listeners

__all__ = ["DENIED", "POISONED", "RETRY", "TracingStore", "watch_pool"]

T = TypeVar("T")

_SCOPE = "txstore"
#: Events added to spans (names are part of the public contract: docs/observability.md).
POISONED = "txstore.outer_store_used_in_transaction"
DENIED = "txstore.denied"
RETRY = "txstore.transaction.retry"

_VERB = re.compile(r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(\w+)", re.DOTALL)
_operations: dict[str, str] = {}


def _operation(sql: str) -> str:
    """The statement's verb (SELECT, INSERT, WITH...), cached per SQL text."""
    verb = _operations.get(sql)
    if verb is None:
        match = _VERB.match(sql)
        verb = _operations[sql] = match.group(1).upper() if match else "UNKNOWN"
    return verb


def _on_poison(method: str, tx_id: str) -> None:
    # Called at the bottom of the stack, inside the span of the offending call.
    trace.get_current_span().add_event(POISONED, {"txstore.method": method, "txstore.tx_id": tx_id})


if _on_poison not in poison_listeners:
    poison_listeners.append(_on_poison)


def _error(span: Span, exc: BaseException, denials: tuple[type[BaseException], ...]) -> None:
    """Classify ``exc`` on ``span`` by type and SQLSTATE only: its message may quote values."""
    name = type(exc).__name__
    span.set_attribute("error.type", name)
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str):
        span.set_attribute("db.response.status_code", sqlstate)
    if denials and isinstance(exc, denials):
        attributes = {"error.type": name}
        for field in ("action", "object_type", "method"):
            value = getattr(exc, field, None)
            if isinstance(value, str):
                attributes[f"txstore.authz.{field}"] = value
        span.add_event(DENIED, attributes)
    span.set_status(Status(StatusCode.ERROR, name))


class TracingStore:
    """A full ``Store`` that opens a span around every call of the store below it.

    Put it on top of the stack (above authorization and audit) to trace each
    query the application runs, denied ones included; ``denials`` lists the
    exception types that are refusals rather than failures (the authorization
    layer's ``NotAuthorized`` and ``NoSubject``), marked with a ``txstore.denied``
    event. Inside ``in_tx`` the closure's queries are child spans of the
    transaction's span and carry its ``tx_id``.
    """

    __slots__ = ("_attrs", "_denials", "_inner", "_tracer", "_tx_id")

    def __init__(
        self,
        inner: Store,
        *,
        tracer_provider: TracerProvider | None = None,
        denials: tuple[type[BaseException], ...] = (),
        attributes: Mapping[str, str] | None = None,
        _tracer: Tracer | None = None,
        _tx_id: str | None = None,
    ) -> None:
        self._inner = inner
        self._tracer = _tracer or trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        self._denials = denials
        #: Fixed attributes of every span (``server.address``, ``db.namespace``...).
        self._attrs: dict[str, Any] = {
            "db.system": "postgresql",
            "db.system.name": "postgresql",
            **(attributes or {}),
        }
        self._tx_id = _tx_id

    async def _traced(
        self, query: Query[Any], call: Callable[[], Awaitable[T]], batch: int | None = None
    ) -> T:
        attributes: dict[str, Any] = {
            **self._attrs,
            "db.operation.name": _operation(query.sql),
            "txstore.query.name": query.name,
            "txstore.query.kind": str(query.kind),
        }
        if query.mutates or query.tables:
            attributes["db.collection.name"] = query.mutates or query.tables[0]
        if self._tx_id is not None:
            attributes["txstore.tx_id"] = self._tx_id
        if batch is not None:
            attributes["db.operation.batch.size"] = batch
        with self._tracer.start_as_current_span(
            query.name,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                return await call()
            except BaseException as exc:
                _error(span, exc, self._denials)
                raise

    async def fetch_one(self, query: Query[RowT], args: tuple[object, ...]) -> RowT:
        return await self._traced(query, lambda: self._inner.fetch_one(query, args))

    async def fetch_many(self, query: Query[RowT], args: tuple[object, ...]) -> list[RowT]:
        return await self._traced(query, lambda: self._inner.fetch_many(query, args))

    async def execute(self, query: Query[None], args: tuple[object, ...]) -> None:
        return await self._traced(query, lambda: self._inner.execute(query, args))

    async def execute_rows(self, query: Query[None], args: tuple[object, ...]) -> int:
        return await self._traced(query, lambda: self._inner.execute_rows(query, args))

    async def execute_batch(self, query: Query[None], args: Sequence[tuple[object, ...]]) -> int:
        return await self._traced(query, lambda: self._inner.execute_batch(query, args), len(args))

    async def fetch_batch(
        self, query: Query[RowT], args: Sequence[tuple[object, ...]]
    ) -> list[list[RowT]]:
        return await self._traced(query, lambda: self._inner.fetch_batch(query, args), len(args))

    async def in_tx(
        self,
        fn: Callable[[Store], Awaitable[T]],
        *,
        isolation: Isolation | str | None = None,
        read_only: bool = False,
        tx_id: str = "tx",
        retries: int = 3,
    ) -> T:
        """Run ``fn`` in a transaction of the store below, inside a span named ``tx_id``.

        A nested call (a savepoint) gets a span of its own under the outer one.
        Re-runs after a serialization failure are ``txstore.transaction.retry``
        events, and ``txstore.transaction.retries`` counts them.

        Raises whatever the store below raises.
        """
        runs = 0
        attributes = {
            **self._attrs,
            "txstore.tx_id": tx_id,
            "txstore.transaction.nested": self._tx_id is not None,
            "txstore.transaction.read_only": read_only,
        }
        if isolation is not None:
            attributes["txstore.transaction.isolation"] = str(Isolation(isolation))
        with self._tracer.start_as_current_span(
            tx_id,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:

            async def traced(tx: Store) -> T:
                nonlocal runs
                runs += 1
                if runs > 1:
                    span.add_event(RETRY, {"txstore.transaction.attempt": runs})
                inner = TracingStore(tx, denials=self._denials, _tracer=self._tracer, _tx_id=tx_id)
                inner._attrs = self._attrs
                return await fn(inner)

            try:
                return await self._inner.in_tx(
                    traced, isolation=isolation, read_only=read_only, tx_id=tx_id, retries=retries
                )
            except BaseException as exc:
                _error(span, exc, self._denials)
                raise
            finally:
                span.set_attribute("txstore.transaction.retries", max(runs - 1, 0))

    async def ping(self) -> None:
        """Ping the store below (not traced: health checks would drown the queries)."""
        await self._inner.ping()

    async def close(self) -> None:
        """Close the store below."""
        await self._inner.close()


_: type[Store] = TracingStore


def watch_pool(
    pool: Pool, name: str = "default", *, meter_provider: otel_metrics.MeterProvider | None = None
) -> None:
    """Record how long callers wait for a connection of ``pool``.

    An OpenTelemetry histogram ``db.client.connection.wait_time`` (seconds) with
    ``db.client.connection.pool.name``; a take that finds an idle connection
    records 0.
    """
    meter = otel_metrics.get_meter(_SCOPE, meter_provider=meter_provider)
    histogram = meter.create_histogram(
        "db.client.connection.wait_time",
        unit="s",
        description="Time to obtain a connection from the pool.",
    )
    attributes = {"db.client.connection.pool.name": name}
    pool.wait_observers.append(lambda seconds: histogram.record(seconds, attributes))
