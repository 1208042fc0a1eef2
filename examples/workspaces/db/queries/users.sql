-- Users: site-wide accounts. Soft-deleted users (deleted = true) keep their row.

-- name: GetUserByID :one
-- Fetch one user by primary key, deleted or not.
SELECT * FROM users WHERE id = @id;

-- name: GetUserByEmail :one
-- Fetch the live user with this email, ignoring case.
SELECT * FROM users WHERE lower(email) = lower(@email) AND NOT deleted;

-- name: GetUserByUsername :one
-- Fetch the live user with this username, ignoring case.
SELECT * FROM users WHERE lower(username) = lower(@username) AND NOT deleted;

-- name: InsertUser :one
-- Create a user and return the stored row.
-- nullable: avatar_url
INSERT INTO users (
    id, email, username, name, hashed_password, status, rbac_roles, avatar_url, login_type,
    created_at, updated_at
) VALUES (
    @id, @email, @username, @name, @hashed_password, @status, @rbac_roles::text[], @avatar_url,
    @login_type, @created_at, @created_at
)
RETURNING *;

-- name: UpdateUserProfile :one
-- Change the profile fields of a live user.
-- nullable: avatar_url
UPDATE users
SET email = @email, username = @username, name = @name, avatar_url = @avatar_url,
    updated_at = @updated_at
WHERE id = @id AND NOT deleted
  -- @authorize_filter
RETURNING *;

-- name: UpdateUserStatus :one
-- Activate, suspend or mark a user dormant.
UPDATE users
SET status = @status, updated_at = @updated_at
WHERE id = @id
  -- @authorize_filter
RETURNING *;

-- name: UpdateUserRBACRoles :one
-- Replace the site roles of a live user.
UPDATE users
SET rbac_roles = @rbac_roles::text[], updated_at = now()
WHERE id = @id AND NOT deleted
  -- @authorize_filter
RETURNING *;

-- name: UpdateUserHashedPassword :one
-- Replace the password hash. The row is returned for the audit diff, where
-- hashed_password is a secret field.
UPDATE users
SET hashed_password = @hashed_password, updated_at = now()
WHERE id = @id AND NOT deleted
  -- @authorize_filter
RETURNING *;

-- name: UpdateUserLastSeenAt :exec
-- Record activity; not audited.
UPDATE users SET last_seen_at = @last_seen_at
WHERE id = @id
  -- @authorize_filter
;

-- name: SoftDeleteUser :one
-- Mark a live user deleted; releases the email and username for reuse.
UPDATE users
SET deleted = true, updated_at = now()
WHERE id = @id AND NOT deleted
  -- @authorize_filter
RETURNING *;

-- name: ListUsers :many
-- Live users, oldest first, optionally filtered by a case-insensitive
-- substring of username/email/name and by status.
-- nullable: search, status
SELECT * FROM users
WHERE NOT deleted
  -- strpos, not LIKE: the search is plain text; LIKE wildcards in it match themselves
  AND (@search::text IS NULL
       OR strpos(lower(username), lower(@search)) > 0
       OR strpos(lower(email), lower(@search)) > 0
       OR strpos(lower(name), lower(@search)) > 0)
  AND (@status::user_status IS NULL OR status = @status)
  -- @authorize_filter
ORDER BY created_at, id
LIMIT @limit_rows OFFSET @offset_rows;
