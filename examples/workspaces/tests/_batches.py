"""Batch forms of the application's workspace queries, as ``txstore gen`` writes them.

The reference application declares no batch query of its own; the layers'
batch tests add these to its model and audit configuration.
tests/test_batches_are_what_gen_writes.py generates the same queries from
tests/batches/batches.sql and compares them field by field.
"""

from __future__ import annotations

from typing import Any

from store import BATCH_INDEX, Kind, Param, Query

from workspaces import db

_SOURCE = "tests/_batches.py"

#: :batchexec: rename workspaces, checked in its WHERE clause like UpdateWorkspaceName.
RENAME_WORKSPACES: Query[None] = Query(
    name="rename_workspaces",
    kind=Kind.BATCHEXEC,
    sql=(
        "UPDATE workspaces\nSET name = $1, updated_at = now()\nWHERE id = $2 AND NOT deleted\n"
        "  AND TRUE /*authorize_filter*/"
    ),
    params=(Param("name", "text"), Param("id", "uuid")),
    decode=None,
    source=_SOURCE,
    tables=("workspaces",),
    mutates="workspaces",
    authorize_filter="workspaces",
)

_COPIED = ("id", "owner_id", "organization_id", "name", "created_at")
#: :copyfrom: workspaces loaded with COPY.
COPY_WORKSPACES: Query[None] = Query(
    name="copy_workspaces",
    kind=Kind.COPYFROM,
    sql=(
        "INSERT INTO workspaces (id, owner_id, organization_id, name, created_at) "
        "VALUES ($1, $2, $3, $4, $5)"
    ),
    params=(
        Param("id", "uuid"),
        Param("owner_id", "uuid"),
        Param("organization_id", "uuid"),
        Param("name", "text"),
        Param("created_at", "timestamptz"),
    ),
    decode=None,
    source=_SOURCE,
    tables=("workspaces",),
    mutates="workspaces",
    columns=_COPIED,
)

_GET: Query[Any] = db.GET_WORKSPACE_BY_ID
#: :batchone: GetWorkspaceByID for many ids.
WORKSPACE_OF_EACH: Query[db.Workspace] = Query(
    name="workspace_of_each",
    kind=Kind.BATCHONE,
    sql=(
        "SELECT q.*, $2::int4 AS txstore_batch_index FROM (\n"
        "SELECT * FROM workspaces WHERE id = $1\n) AS q"
    ),
    params=(Param("id", "uuid"), Param(BATCH_INDEX, "int4")),
    decode=_GET.decode,
    source=_SOURCE,
    tables=("workspaces",),
    columns=_GET.columns,
)

#: :batchmany: the live workspaces of each owner, filtered in SQL.
WORKSPACES_OF_EACH_OWNER: Query[db.Workspace] = Query(
    name="workspaces_of_each_owner",
    kind=Kind.BATCHMANY,
    sql=(
        "SELECT q.*, $2::int4 AS txstore_batch_index FROM (\n"
        "SELECT * FROM workspaces\nWHERE owner_id = $1 AND NOT deleted\n"
        "  AND TRUE /*authorize_filter*/\nORDER BY created_at DESC, id DESC\n) AS q"
    ),
    params=(Param("owner_id", "uuid"), Param(BATCH_INDEX, "int4")),
    decode=_GET.decode,
    source=_SOURCE,
    tables=("workspaces",),
    authorize_filter="workspaces",
    columns=_GET.columns,
)


#: :batchone: UpdateWorkspaceName for many workspaces (its RETURNING *, then the index).
RENAME_EACH: Query[db.Workspace] = Query(
    name="rename_each",
    kind=Kind.BATCHONE,
    sql=(
        "UPDATE workspaces\nSET name = $1, updated_at = now()\nWHERE id = $2 AND NOT deleted\n"
        "RETURNING *\n, $3::int4 AS txstore_batch_index"
    ),
    params=(Param("name", "text"), Param("id", "uuid"), Param(BATCH_INDEX, "int4")),
    decode=_GET.decode,
    source=_SOURCE,
    tables=("workspaces",),
    mutates="workspaces",
    columns=_GET.columns,
)

#: :batchmany: InsertWorkspace for many workspaces.
CREATE_EACH: Query[db.Workspace] = Query(
    name="create_each",
    kind=Kind.BATCHMANY,
    sql=(
        "INSERT INTO workspaces (id, owner_id, organization_id, name, created_at)\n"
        "VALUES ($1, $2, $3, $4, $5)\nRETURNING *\n, $6::int4 AS txstore_batch_index"
    ),
    params=(
        Param("id", "uuid"),
        Param("owner_id", "uuid"),
        Param("organization_id", "uuid"),
        Param("name", "text"),
        Param("created_at", "timestamptz"),
        Param(BATCH_INDEX, "int4"),
    ),
    decode=_GET.decode,
    source=_SOURCE,
    tables=("workspaces",),
    mutates="workspaces",
    columns=_GET.columns,
)

BATCHES: dict[str, Query[Any]] = {
    q.name: q
    for q in (
        RENAME_WORKSPACES,
        COPY_WORKSPACES,
        WORKSPACE_OF_EACH,
        WORKSPACES_OF_EACH_OWNER,
        RENAME_EACH,
        CREATE_EACH,
    )
}
