-- Organizations (tenants) and users (site-wide accounts).

CREATE TYPE user_status AS ENUM ('active', 'suspended', 'dormant');

CREATE TYPE login_type AS ENUM ('password', 'github', 'oidc', 'none');

CREATE TABLE organizations (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    name         text        NOT NULL,
    display_name text        NOT NULL DEFAULT '',
    description  text        NOT NULL DEFAULT '',
    icon         text        NOT NULL DEFAULT '',
    is_default   boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_name_check
        CHECK (name ~ '^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$' AND char_length(name) <= 64)
);

COMMENT ON TABLE organizations IS 'Tenants. Workspaces, members and OAuth2 apps belong to exactly one organization.';

-- Names are unique ignoring case.
CREATE UNIQUE INDEX organizations_name_lower_key ON organizations (lower(name));

-- At most one default organization (the one new users join).
CREATE UNIQUE INDEX organizations_is_default_key ON organizations (is_default) WHERE is_default;

CREATE TABLE users (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    email           text        NOT NULL,
    username        text        NOT NULL,
    name            text        NOT NULL DEFAULT '',
    hashed_password bytea       NOT NULL,
    status          user_status NOT NULL DEFAULT 'active',
    rbac_roles      text[]      NOT NULL DEFAULT '{}',
    avatar_url      text,
    deleted         boolean     NOT NULL DEFAULT false,
    last_seen_at    timestamptz,
    login_type      login_type  NOT NULL DEFAULT 'password',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_check
        CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND char_length(email) <= 320),
    CONSTRAINT users_username_check
        CHECK (username ~ '^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$' AND char_length(username) <= 32),
    CONSTRAINT users_rbac_roles_check
        CHECK (rbac_roles <@ ARRAY['owner', 'member', 'auditor', 'user-admin']::text[]
               AND array_position(rbac_roles, NULL) IS NULL)
);

COMMENT ON TABLE users IS 'Site-wide accounts. Soft-deleted (deleted = true) rows keep their id for audit history.';
COMMENT ON COLUMN users.rbac_roles IS 'Site roles: owner, member, auditor, user-admin.';
COMMENT ON COLUMN users.last_seen_at IS 'NULL until the user first signs in.';

-- Email and username are unique ignoring case among live users; a soft-deleted
-- user releases both.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE NOT deleted;
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username)) WHERE NOT deleted;

-- Listing live users page by page.
CREATE INDEX users_created_at_id_idx ON users (created_at, id) WHERE NOT deleted;
