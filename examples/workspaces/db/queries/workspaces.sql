-- Workspaces: owned by a user (owner_id) inside an organization (organization_id).

-- name: InsertWorkspace :one
-- Create a workspace and return the stored row.
-- nullable: autostart_schedule, ttl
INSERT INTO workspaces (
    id, owner_id, organization_id, name, autostart_schedule, ttl, last_used_at, created_at, updated_at
) VALUES (
    @id, @owner_id, @organization_id, @name, @autostart_schedule, @ttl, @created_at, @created_at, @created_at
)
RETURNING *;

-- name: GetWorkspaceByID :one
-- Fetch one workspace by primary key, deleted or not.
SELECT * FROM workspaces WHERE id = @id;

-- name: GetWorkspaceByOwnerIDAndName :one
-- Fetch an owner's live workspace by name, ignoring case.
SELECT * FROM workspaces
WHERE owner_id = @owner_id AND lower(name) = lower(@name) AND NOT deleted;

-- name: UpdateWorkspaceName :one
-- Rename a live workspace.
UPDATE workspaces
SET name = @name, updated_at = now()
WHERE id = @id AND NOT deleted
  -- @authorize_filter
RETURNING *;

-- name: UpdateWorkspaceAutostart :one
-- Set or clear (NULL) the autostart schedule.
-- nullable: autostart_schedule
UPDATE workspaces
SET autostart_schedule = @autostart_schedule, updated_at = now()
WHERE id = @id AND NOT deleted
  -- @authorize_filter
RETURNING *;

-- name: UpdateWorkspaceTTL :one
-- Set or clear (NULL) the inactivity time-to-live, in milliseconds.
-- nullable: ttl
UPDATE workspaces
SET ttl = @ttl, updated_at = now()
WHERE id = @id AND NOT deleted
  -- @authorize_filter
RETURNING *;

-- name: UpdateWorkspaceLastUsedAt :exec
-- Record activity; also wakes a dormant workspace. Not audited.
UPDATE workspaces
SET last_used_at = @last_used_at, dormant_at = NULL
WHERE id = @id
  -- @authorize_filter
;

-- name: UpdateWorkspaceDormantAt :one
-- Mark a live workspace dormant, or clear the mark (NULL).
-- nullable: dormant_at
UPDATE workspaces
SET dormant_at = @dormant_at, updated_at = now()
WHERE id = @id AND NOT deleted
  -- @authorize_filter
RETURNING *;

-- name: SoftDeleteWorkspace :one
-- Mark a live workspace deleted; frees its name for its owner.
UPDATE workspaces
SET deleted = true, updated_at = now()
WHERE id = @id AND NOT deleted
  -- @authorize_filter
RETURNING *;

-- name: ListWorkspacesByOwnerID :many
-- Live workspaces of one owner, newest first.
SELECT * FROM workspaces
WHERE owner_id = @owner_id AND NOT deleted
  -- @authorize_filter
ORDER BY created_at DESC, id DESC
LIMIT @limit_rows OFFSET @offset_rows;

-- name: ListWorkspacesByOrganizationID :many
-- Live workspaces of one organization, newest first, by keyset: pass the
-- created_at and id of the last row seen, or NULL for the first page.
-- nullable: after_created_at, after_id
SELECT * FROM workspaces
WHERE organization_id = @organization_id AND NOT deleted
  AND (@after_created_at::timestamptz IS NULL
       OR (created_at, id) < (@after_created_at, @after_id::uuid))
  -- @authorize_filter
ORDER BY created_at DESC, id DESC
LIMIT @limit_rows;

-- name: ListWorkspaces :many
-- Every live workspace the caller may see, newest first, by keyset: pass the
-- created_at and id of the last row seen, or NULL for the first page. Only the
-- authorization predicate narrows it.
-- nullable: after_created_at, after_id
SELECT * FROM workspaces
WHERE NOT deleted
  AND (@after_created_at::timestamptz IS NULL
       OR (created_at, id) < (@after_created_at, @after_id::uuid))
  -- @authorize_filter
ORDER BY created_at DESC, id DESC
LIMIT @limit_rows;

-- name: CountWorkspacesPerOrganization :many
-- Number of live workspaces in every organization, including those with none.
SELECT o.id AS organization_id, o.name AS organization_name, count(w.id) AS workspace_count
FROM organizations o
LEFT JOIN workspaces w ON w.organization_id = o.id AND NOT w.deleted
GROUP BY o.id, o.name
ORDER BY o.name;
