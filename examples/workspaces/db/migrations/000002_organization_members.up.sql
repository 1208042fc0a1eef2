-- Membership of users in organizations, with organization-level roles.

CREATE TABLE organization_members (
    user_id         uuid        NOT NULL,
    organization_id uuid        NOT NULL,
    roles           text[]      NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organization_members_pkey PRIMARY KEY (organization_id, user_id),
    CONSTRAINT organization_members_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT organization_members_organization_id_fkey
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT organization_members_roles_check
        CHECK (roles <@ ARRAY['org-admin', 'org-member', 'org-auditor']::text[]
               AND array_position(roles, NULL) IS NULL)
);

COMMENT ON COLUMN organization_members.roles IS 'Organization roles: org-admin, org-member, org-auditor.';

-- "Which organizations is this user in?" (the primary key covers the other direction).
CREATE INDEX organization_members_user_id_idx ON organization_members (user_id);
