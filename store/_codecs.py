"""The codecs every connection the store opens gets, as generated code expects them."""

from __future__ import annotations

import enum
import json

import asyncpg

__all__ = ["ConnectionSetup"]


# The schema hstore is installed in, if it is (an extension's type has no fixed oid).
_HSTORE_SCHEMA = """
SELECT n.nspname::text FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'hstore'
"""


class _Unknown(enum.Enum):
    UNKNOWN = enum.auto()


class ConnectionSetup:
    """The codecs each new connection of one pool gets, as generated code expects them.

    json and jsonb decode to Python values (no round trip: built-in types).
    hstore, when the database has the extension, decodes to
    ``dict[str, str | None]`` and encodes from any mapping (asyncpg's
    ``pg_contrib.hstore`` codec). Whether the extension is there is asked once
    per pool, by its first connection, so a database without hstore costs no
    query per connection; one with it costs one (asyncpg looks the type up).
    An hstore installed after that first connection is not seen by the pool:
    its connections keep reading hstore as text until the pool is reopened.
    """

    __slots__ = ("_hstore",)

    def __init__(self) -> None:
        self._hstore: str | _Unknown | None = _Unknown.UNKNOWN

    async def __call__(self, conn: asyncpg.Connection) -> None:
        for typename in ("json", "jsonb"):
            await conn.set_type_codec(
                typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )
        schema = self._hstore
        if schema is _Unknown.UNKNOWN:
            schema = self._hstore = await conn.fetchval(_HSTORE_SCHEMA)
        if schema is None:
            return
        try:
            await conn.set_builtin_type_codec(
                "hstore", schema=schema, codec_name="pg_contrib.hstore"
            )
        except ValueError:
            # The extension was dropped since the pool looked: nothing to decode.
            self._hstore = None
