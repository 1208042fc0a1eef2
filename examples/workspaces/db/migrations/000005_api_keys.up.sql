-- API keys: "<id>-<secret>" tokens; only the id is stored in clear.

CREATE TABLE api_keys (
    id               text        NOT NULL,
    hashed_secret    bytea       NOT NULL,
    user_id          uuid        NOT NULL,
    last_used        timestamptz,
    expires_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    login_type       login_type  NOT NULL,
    lifetime_seconds bigint      NOT NULL DEFAULT 86400,
    ip_address       inet,
    scopes           text[]      NOT NULL DEFAULT '{all}',
    token_name       text,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    -- NULL token names (session keys) never collide; named tokens are unique per user.
    CONSTRAINT api_keys_user_id_token_name_key UNIQUE (user_id, token_name),
    CONSTRAINT api_keys_id_check
        CHECK (char_length(id) = 10 AND id ~ '^[a-zA-Z0-9]+$'),
    CONSTRAINT api_keys_lifetime_seconds_check
        CHECK (lifetime_seconds > 0),
    CONSTRAINT api_keys_scopes_check
        CHECK (cardinality(scopes) > 0
               AND scopes <@ ARRAY['all', 'application_connect']::text[]
               AND array_position(scopes, NULL) IS NULL),
    CONSTRAINT api_keys_token_name_check
        CHECK (token_name IS NULL OR char_length(token_name) BETWEEN 1 AND 64)
);

COMMENT ON COLUMN api_keys.id IS 'Public key prefix (10 alphanumerics), sent in clear before the secret.';
COMMENT ON COLUMN api_keys.token_name IS 'Name of a long-lived token; NULL for session keys.';

-- Purging expired keys in batches.
CREATE INDEX api_keys_expires_at_idx ON api_keys (expires_at);
