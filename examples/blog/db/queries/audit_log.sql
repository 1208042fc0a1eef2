-- The audit log (txstore's default audit table), written by audit.DatabaseAuditor.

-- name: InsertAuditLog :exec
-- Record one audit entry.
-- nullable: org_id, ip, user_agent, request_id
INSERT INTO audit_log (id, time, user_id, org_id, ip, user_agent, request_id, resource_type,
                       resource_id, resource_target, action, diff, status_code, additional_fields)
VALUES (@id, @time, @user_id, @org_id, @ip, @user_agent, @request_id, @resource_type,
        @resource_id, @resource_target, @action, @diff, @status_code, @additional_fields);

-- name: ListAuditLogForResource :many
-- A resource's entries, oldest first.
SELECT * FROM audit_log
WHERE resource_type = @resource_type AND resource_id = @resource_id
ORDER BY time, id;
