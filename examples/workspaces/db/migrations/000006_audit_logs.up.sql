-- Audit log: one row per audited change or event. No foreign keys: entries
-- outlive the users, organizations and resources they mention.

CREATE TYPE audit_action AS ENUM ('create', 'write', 'delete', 'start', 'stop', 'login', 'logout');

CREATE TABLE audit_logs (
    id                uuid         NOT NULL DEFAULT gen_random_uuid(),
    time              timestamptz  NOT NULL,
    user_id           uuid         NOT NULL,
    organization_id   uuid,
    ip                inet,
    user_agent        text,
    request_id        uuid,
    resource_type     text         NOT NULL,
    resource_id       text         NOT NULL,
    resource_target   text         NOT NULL DEFAULT '',
    action            audit_action NOT NULL,
    diff              jsonb        NOT NULL DEFAULT '{}',
    status_code       integer      NOT NULL DEFAULT 200,
    additional_fields jsonb        NOT NULL DEFAULT '{}',
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id),
    CONSTRAINT audit_logs_resource_type_check
        CHECK (resource_type ~ '^[a-z0-9_]+$'),
    CONSTRAINT audit_logs_resource_id_check
        CHECK (char_length(resource_id) BETWEEN 1 AND 128),
    CONSTRAINT audit_logs_diff_check
        CHECK (jsonb_typeof(diff) = 'object'),
    CONSTRAINT audit_logs_additional_fields_check
        CHECK (jsonb_typeof(additional_fields) = 'object'),
    CONSTRAINT audit_logs_status_code_check
        CHECK (status_code BETWEEN 100 AND 599)
);

COMMENT ON COLUMN audit_logs.user_id IS 'The acting subject (a user or a system identity); not a foreign key.';
COMMENT ON COLUMN audit_logs.resource_id IS 'Text so that both uuid ids and API key ids fit.';

CREATE INDEX audit_logs_resource_type_resource_id_time_idx
    ON audit_logs (resource_type, resource_id, time DESC);
CREATE INDEX audit_logs_user_id_time_idx ON audit_logs (user_id, time DESC);
CREATE INDEX audit_logs_organization_id_time_idx
    ON audit_logs (organization_id, time DESC) WHERE organization_id IS NOT NULL;
CREATE INDEX audit_logs_time_idx ON audit_logs (time DESC);
