-- OAuth2 provider apps (owned by an organization) and their client secrets.

-- name: InsertOAuth2ProviderApp :one
-- Register an app and return the stored row.
INSERT INTO oauth2_provider_apps (id, organization_id, name, callback_url, icon, metadata, created_at, updated_at)
VALUES (@id, @organization_id, @name, @callback_url, @icon, @metadata, @created_at, @created_at)
RETURNING *;

-- name: GetOAuth2ProviderAppByID :one
-- Fetch one app by primary key.
SELECT * FROM oauth2_provider_apps WHERE id = @id;

-- name: ListOAuth2ProviderApps :many
-- Apps, by name, optionally only those of one organization.
-- nullable: organization_id
SELECT * FROM oauth2_provider_apps
WHERE (@organization_id::uuid IS NULL OR organization_id = @organization_id)
  -- @authorize_filter
ORDER BY name, id;

-- name: UpdateOAuth2ProviderApp :one
-- Change an app's name, callback URL, icon and registered metadata.
UPDATE oauth2_provider_apps
SET name = @name, callback_url = @callback_url, icon = @icon, metadata = @metadata,
    updated_at = @updated_at
WHERE id = @id
  -- @authorize_filter
RETURNING *;

-- name: DeleteOAuth2ProviderApp :one
-- Delete an app (its secrets go with it) and return the deleted row.
DELETE FROM oauth2_provider_apps
WHERE id = @id
  -- @authorize_filter
RETURNING *;

-- name: InsertOAuth2ProviderAppSecret :one
-- Store a new client secret (hashed) for an app.
INSERT INTO oauth2_provider_app_secrets (id, app_id, hashed_secret, display_secret, secret_prefix, created_at)
VALUES (@id, @app_id, @hashed_secret, @display_secret, @secret_prefix, @created_at)
RETURNING *;

-- name: GetOAuth2ProviderAppSecretByID :one
-- Fetch one secret by primary key.
SELECT * FROM oauth2_provider_app_secrets WHERE id = @id;

-- name: GetOAuth2ProviderAppSecretBySecretPrefix :one
-- Look a secret up by the public prefix a client presents.
SELECT * FROM oauth2_provider_app_secrets WHERE secret_prefix = @secret_prefix;

-- name: ListOAuth2ProviderAppSecretsByAppID :many
-- Secrets of one app, oldest first.
-- The join exposes the owning organization to the authorization filter.
SELECT s.* FROM oauth2_provider_app_secrets s
JOIN oauth2_provider_apps a ON a.id = s.app_id
WHERE s.app_id = @app_id
  -- @authorize_filter a
ORDER BY s.created_at, s.id;

-- name: UpdateOAuth2ProviderAppSecretLastUsedAt :exec
-- Record a secret's use; not audited.
UPDATE oauth2_provider_app_secrets SET last_used_at = @last_used_at WHERE id = @id;

-- name: DeleteOAuth2ProviderAppSecret :one
-- Revoke a secret and return the deleted row.
DELETE FROM oauth2_provider_app_secrets WHERE id = @id RETURNING *;
