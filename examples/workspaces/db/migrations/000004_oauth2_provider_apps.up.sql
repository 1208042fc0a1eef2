-- OAuth2 applications registered against this deployment, and their client secrets.

CREATE TABLE oauth2_provider_apps (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid        NOT NULL,
    name            text        NOT NULL,
    callback_url    text        NOT NULL,
    icon            text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT oauth2_provider_apps_pkey PRIMARY KEY (id),
    CONSTRAINT oauth2_provider_apps_organization_id_fkey
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT oauth2_provider_apps_name_key UNIQUE (name),
    CONSTRAINT oauth2_provider_apps_name_check
        CHECK (char_length(name) BETWEEN 1 AND 64),
    CONSTRAINT oauth2_provider_apps_callback_url_check
        CHECK (callback_url ~ '^https?://')
);

CREATE INDEX oauth2_provider_apps_organization_id_idx ON oauth2_provider_apps (organization_id);

CREATE TABLE oauth2_provider_app_secrets (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    app_id         uuid        NOT NULL,
    hashed_secret  bytea       NOT NULL,
    display_secret text        NOT NULL,
    secret_prefix  text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz,
    CONSTRAINT oauth2_provider_app_secrets_pkey PRIMARY KEY (id),
    CONSTRAINT oauth2_provider_app_secrets_app_id_fkey
        FOREIGN KEY (app_id) REFERENCES oauth2_provider_apps (id) ON DELETE CASCADE,
    CONSTRAINT oauth2_provider_app_secrets_secret_prefix_key UNIQUE (secret_prefix),
    CONSTRAINT oauth2_provider_app_secrets_display_secret_check
        CHECK (char_length(display_secret) BETWEEN 1 AND 16),
    CONSTRAINT oauth2_provider_app_secrets_secret_prefix_check
        CHECK (char_length(secret_prefix) BETWEEN 6 AND 32)
);

COMMENT ON COLUMN oauth2_provider_app_secrets.display_secret IS 'A short, non-secret suffix shown in UIs to tell secrets apart.';
COMMENT ON COLUMN oauth2_provider_app_secrets.secret_prefix IS 'Public lookup prefix of the secret; the rest is only stored hashed.';

CREATE INDEX oauth2_provider_app_secrets_app_id_idx ON oauth2_provider_app_secrets (app_id);
