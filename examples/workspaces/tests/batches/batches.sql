-- The batch forms of the application's workspace queries that tests/_batches.py
-- writes out by hand; test_batches_are_what_gen_writes.py generates these and
-- compares them.

-- name: RenameWorkspaces :batchexec
UPDATE workspaces
SET name = @name, updated_at = now()
WHERE id = @id AND NOT deleted
  -- @authorize_filter
;

-- name: CopyWorkspaces :copyfrom
INSERT INTO workspaces (id, owner_id, organization_id, name, created_at) VALUES (@id, @owner_id, @organization_id, @name, @created_at);

-- name: WorkspaceOfEach :batchone
SELECT * FROM workspaces WHERE id = @id;

-- name: WorkspacesOfEachOwner :batchmany
SELECT * FROM workspaces
WHERE owner_id = @owner_id AND NOT deleted
  -- @authorize_filter
ORDER BY created_at DESC, id DESC;

-- name: RenameEach :batchone
UPDATE workspaces
SET name = @name, updated_at = now()
WHERE id = @id AND NOT deleted
RETURNING *;

-- name: CreateEach :batchmany
INSERT INTO workspaces (id, owner_id, organization_id, name, created_at)
VALUES (@id, @owner_id, @organization_id, @name, @created_at)
RETURNING *;
