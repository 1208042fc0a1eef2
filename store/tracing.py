"""OpenTelemetry spans and pool-wait metrics for the store (needs the ``txstore[otel]`` extra)."""

from store._tracing import DENIED, POISONED, RETRY, TracingStore, watch_pool

__all__ = ["DENIED", "POISONED", "RETRY", "TracingStore", "watch_pool"]
