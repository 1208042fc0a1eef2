"""Queries the framework itself runs through the layers (locks, pub/sub).

They travel through every layer like generated queries, so authorization must
declare a policy for each; this is their one list.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from store._locks import ACQUIRE, TRY_ACQUIRE
from store._pubsub import PUBLISH
from store._query import Query

__all__ = ["FRAMEWORK_QUERIES"]

FRAMEWORK_QUERIES: Mapping[str, Query[Any]] = MappingProxyType(
    {q.name: q for q in (ACQUIRE, TRY_ACQUIRE, PUBLISH)}
)
