"""Real-PostgreSQL test support: the pytest plugin's server and fixtures."""

from store.testing._server import TEST_TIMEZONE, TestServer, start_server

__all__ = ["TEST_TIMEZONE", "TestServer", "start_server"]
