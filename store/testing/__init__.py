"""Real-PostgreSQL support: the pytest plugin's server and fixtures, and an embedded cluster."""

from store._localpg import LocalCluster
from store.testing._server import TEST_TIMEZONE, TestServer, start_server

__all__ = ["TEST_TIMEZONE", "LocalCluster", "TestServer", "start_server"]
