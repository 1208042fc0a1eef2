-- API keys: id is the public prefix; only the secret's hash is stored.

-- name: InsertAPIKey :one
-- Store a new key and return the stored row.
-- nullable: ip_address, token_name
INSERT INTO api_keys (
    id, hashed_secret, user_id, expires_at, created_at, updated_at, login_type, lifetime_seconds,
    ip_address, scopes, token_name
) VALUES (
    @id, @hashed_secret, @user_id, @expires_at, @created_at, @created_at, @login_type, @lifetime_seconds,
    @ip_address, @scopes::text[], @token_name
)
RETURNING *;

-- name: GetAPIKeyByID :one
-- Fetch a key by its public id.
SELECT * FROM api_keys WHERE id = @id;

-- name: GetAPIKeyByTokenName :one
-- Fetch a user's named token.
SELECT * FROM api_keys WHERE user_id = @user_id AND token_name = @token_name;

-- name: ListAPIKeysByUserID :many
-- Keys of one user, newest first; expired ones too.
SELECT * FROM api_keys
WHERE user_id = @user_id
  -- @authorize_filter
ORDER BY created_at DESC, id
LIMIT @limit_rows OFFSET @offset_rows;

-- name: UpdateAPIKeyUsage :exec
-- Record a key's use and slide its expiry; not audited.
-- nullable: ip_address
UPDATE api_keys
SET last_used = @last_used, expires_at = @expires_at, ip_address = @ip_address, updated_at = now()
WHERE id = @id
  -- @authorize_filter
;

-- name: DeleteAPIKey :one
-- Revoke one key and return the deleted row.
DELETE FROM api_keys
WHERE id = @id
  -- @authorize_filter
RETURNING *;

-- name: DeleteAPIKeysByUserID :execrows
-- Revoke every key of one user (sign out everywhere).
DELETE FROM api_keys WHERE user_id = @user_id;

-- name: DeleteExpiredAPIKeys :execrows
-- Delete up to batch_size keys that expired before a cut-off; call again
-- until it returns 0. Rows locked by another purger are skipped.
DELETE FROM api_keys
WHERE id IN (
    SELECT id FROM api_keys
    WHERE expires_at < @before
    ORDER BY expires_at
    LIMIT @batch_size
    FOR UPDATE SKIP LOCKED
);
