-- The audit log: txstore's default audit table (docs/audit.md), one row per
-- audited change, written in the change's transaction by audit.DatabaseAuditor.

CREATE TABLE audit_log (
    id                uuid        PRIMARY KEY,
    time              timestamptz NOT NULL,
    user_id           uuid        NOT NULL,  -- the actor (a user or a system identity)
    org_id            uuid,
    ip                inet,
    user_agent        text,
    request_id        uuid,
    resource_type     text        NOT NULL,
    resource_id       text        NOT NULL,
    resource_target   text        NOT NULL DEFAULT '',
    action            text        NOT NULL,
    diff              jsonb       NOT NULL DEFAULT '{}',
    status_code       integer     NOT NULL DEFAULT 200,
    additional_fields jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, time);
