-- Workspaces: owned by one user, inside one organization.

CREATE TABLE workspaces (
    id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
    owner_id           uuid        NOT NULL,
    organization_id    uuid        NOT NULL,
    name               text        NOT NULL,
    deleted            boolean     NOT NULL DEFAULT false,
    autostart_schedule text,
    ttl                bigint,
    last_used_at       timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT workspaces_pkey PRIMARY KEY (id),
    CONSTRAINT workspaces_owner_id_fkey
        FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE RESTRICT,
    CONSTRAINT workspaces_organization_id_fkey
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE RESTRICT,
    CONSTRAINT workspaces_name_check
        CHECK (name ~ '^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$' AND char_length(name) <= 32),
    CONSTRAINT workspaces_autostart_schedule_check
        CHECK (autostart_schedule IS NULL OR char_length(autostart_schedule) BETWEEN 1 AND 256),
    CONSTRAINT workspaces_ttl_check
        CHECK (ttl IS NULL OR ttl > 0)
);

COMMENT ON COLUMN workspaces.autostart_schedule IS 'Cron-style schedule; NULL means no autostart.';
COMMENT ON COLUMN workspaces.ttl IS 'Auto-stop after this many milliseconds of inactivity; NULL means never.';

-- A live workspace name is unique per owner, ignoring case.
CREATE UNIQUE INDEX workspaces_owner_id_lower_name_key
    ON workspaces (owner_id, lower(name)) WHERE NOT deleted;

-- Listing live workspaces by owner / by organization, newest first, page by page.
CREATE INDEX workspaces_owner_id_created_at_idx
    ON workspaces (owner_id, created_at DESC, id DESC) WHERE NOT deleted;
CREATE INDEX workspaces_organization_id_created_at_idx
    ON workspaces (organization_id, created_at DESC, id DESC) WHERE NOT deleted;
