"""Prometheus metrics for the store (needs the ``txstore[metrics]`` extra)."""

from store._metrics import MetricsStore, StoreMetrics, metrics_response

__all__ = ["MetricsStore", "StoreMetrics", "metrics_response"]
