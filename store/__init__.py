"""txstore's store: typed queries generated from SQL, and transactions that guard themselves."""

from store import errors
from store._framework import FRAMEWORK_QUERIES
from store._query import BATCH_INDEX, Kind, Param, Query, QueryRunner
from store._replica import ReplicaRoutingStore, connect_with_replica
from store._store import PgStore, PgTx, Store, connect
from store._tx import Isolation, PoisonMode
from store._versions import ServerVersion

__all__ = [
    "BATCH_INDEX",
    "FRAMEWORK_QUERIES",
    "Isolation",
    "Kind",
    "Param",
    "PgStore",
    "PgTx",
    "PoisonMode",
    "Query",
    "QueryRunner",
    "ReplicaRoutingStore",
    "ServerVersion",
    "Store",
    "connect",
    "connect_with_replica",
    "errors",
]
