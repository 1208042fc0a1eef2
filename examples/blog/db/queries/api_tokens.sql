-- API tokens: only the hash of a token's secret is stored.

-- name: InsertAPIToken :one
-- Create a token for an author.
INSERT INTO api_tokens (author_id, name, prefix, hashed_secret)
VALUES (@author_id, @name, @prefix, @hashed_secret)
RETURNING *;

-- name: GetAPITokenByPrefix :one
-- Find a token by its public prefix (to check the secret against its hash).
SELECT * FROM api_tokens WHERE prefix = @prefix;

-- name: GetAPITokenByID :one
-- Fetch one token by primary key.
SELECT * FROM api_tokens WHERE id = @id;

-- name: RotateAPIToken :one
-- Replace a token's secret.
UPDATE api_tokens SET hashed_secret = @hashed_secret
WHERE id = @id
RETURNING *;

-- name: DeleteAPIToken :one
-- Revoke a token.
DELETE FROM api_tokens WHERE id = @id
RETURNING *;
