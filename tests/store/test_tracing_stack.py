"""TracingStore on top of the full stack of the reference application: denials are events."""

from __future__ import annotations

import datetime
import uuid

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from workspaces import stack as app
from workspaces.db import Queries

from authz import Subject, as_subject
from authz.errors import NoSubject, NotAuthorized
from store.tracing import DENIED, TracingStore

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _texts(spans: tuple[ReadableSpan, ...]) -> str:
    parts: list[str] = []
    for span in spans:
        parts += [span.name, repr(dict(span.attributes or {}))]
        parts += [f"{e.name} {dict(e.attributes or {})!r}" for e in span.events]
    return "\n".join(parts)


async def test_authorization_denials_are_events_on_the_query_span(db_dsn: str) -> None:
    provider = TracerProvider()
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    db = await app.connect(db_dsn, min_size=1, max_size=1)
    traced = Queries(
        TracingStore(db.store, tracer_provider=provider, denials=(NotAuthorized, NoSubject))
    )
    org = uuid.uuid4()

    async def create(q: Queries) -> object:
        return await q.insert_organization(
            id=org,
            name="denied-org",
            display_name="Denied",
            description="",
            icon="",
            is_default=False,
            created_at=NOW,
        )

    try:
        with pytest.raises(NoSubject):
            await create(traced)
        with as_subject(Subject.user(uuid.uuid4(), site_roles=("member",))):
            with pytest.raises(NotAuthorized):
                await create(traced)
            with pytest.raises(NotAuthorized):
                await traced.in_tx(create, tx_id="create_org")
    finally:
        await db.store.close()
    no_subject, denied, in_tx, tx = spans.get_finished_spans()
    assert [e.name for e in no_subject.events] == [DENIED]
    assert dict(denied.events[0].attributes or {}) == {
        "error.type": "NotAuthorized",
        "txstore.authz.action": "create",
        "txstore.authz.object_type": "organization",
    }
    assert (in_tx.name, tx.name) == ("insert_organization", "create_org")
    assert [e.name for e in in_tx.events] == [DENIED]
    assert [e.name for e in tx.events] == [DENIED]
    assert "denied-org" not in _texts(spans.get_finished_spans())
