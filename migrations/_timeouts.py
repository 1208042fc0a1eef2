"""Timeouts as PostgreSQL settings, shared by the store and the migrations runner.

It lives here because ``migrations`` may not import ``store``; the store imports it.
"""

from __future__ import annotations

import math

__all__ = ["timeout_ms"]


def timeout_ms(seconds: float, setting: str) -> int:
    """``seconds`` as PostgreSQL milliseconds, rounded up: a positive timeout never becomes 0 (off).

    Raises:
        ValueError: a negative or non-finite timeout.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{setting} must be a finite number of seconds >= 0, got {seconds!r}")
    # round() first: 0.05 * 1000 is 50.00000000000001, which must stay 50; but
    # round() takes a positive value below 0.5 ns to 0, so 1 ms is the floor.
    ms = math.ceil(round(seconds * 1000, 6))
    return max(ms, 1) if seconds > 0 else 0
