-- Audit log entries. Append-only apart from the retention purge.

-- name: InsertAuditLog :one
-- Record one audit entry and return it.
-- nullable: org_id, ip, user_agent, request_id
INSERT INTO audit_logs (
    id, time, user_id, organization_id, ip, user_agent, request_id, resource_type, resource_id,
    resource_target, action, diff, status_code, additional_fields
) VALUES (
    @id, @time, @user_id, @org_id, @ip, @user_agent, @request_id, @resource_type, @resource_id,
    @resource_target, @action, @diff, @status_code, @additional_fields
)
RETURNING *;

-- name: GetAuditLogByID :one
-- Fetch one audit entry by primary key.
SELECT * FROM audit_logs WHERE id = @id;

-- name: SearchAuditLogs :many
-- Audit entries, newest first, with the acting user's name where that user
-- still exists (user columns are NULL for system actors and purged users).
-- Every filter is optional: NULL means "any". The time range is
-- [from_time, to_time).
-- nullable: resource_type, resource_id, user_id, organization_id, action, from_time, to_time
SELECT a.*, u.username AS user_username, u.email AS user_email, u.avatar_url AS user_avatar_url
FROM audit_logs a
LEFT JOIN users u ON u.id = a.user_id
WHERE (@resource_type::text IS NULL OR a.resource_type = @resource_type)
  AND (@resource_id::text IS NULL OR a.resource_id = @resource_id)
  AND (@user_id::uuid IS NULL OR a.user_id = @user_id)
  AND (@organization_id::uuid IS NULL OR a.organization_id = @organization_id)
  AND (@action::audit_action IS NULL OR a.action = @action)
  AND (@from_time::timestamptz IS NULL OR a.time >= @from_time)
  AND (@to_time::timestamptz IS NULL OR a.time < @to_time)
  -- @authorize_filter a
ORDER BY a.time DESC, a.id DESC
LIMIT @limit_rows OFFSET @offset_rows;

-- name: DeleteAuditLogsBefore :execrows
-- Retention: delete up to batch_size entries older than a cut-off, oldest
-- first; call again until it returns 0.
DELETE FROM audit_logs
WHERE id IN (
    SELECT id FROM audit_logs
    WHERE time < @before
    ORDER BY time
    LIMIT @batch_size
    FOR UPDATE SKIP LOCKED
);
