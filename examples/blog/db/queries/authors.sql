-- Authors and their roles and status.

-- name: InsertAuthor :one
-- Register an author and return the stored row.
INSERT INTO authors (email, name, roles) VALUES (@email, @name, @roles)
RETURNING *;

-- name: GetAuthorByID :one
-- Fetch one author by primary key.
SELECT * FROM authors WHERE id = @id;

-- name: UpdateAuthorName :one
-- Rename an author (the author itself, or an editor).
UPDATE authors SET name = @name, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: UpdateAuthorStatus :one
-- Suspend or reinstate an author; a suspended author is denied everything.
UPDATE authors SET status = @status, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: UpdateAuthorRoles :one
-- Replace an author's site roles (each added or removed role within the caller's ceiling).
UPDATE authors SET roles = @roles, updated_at = now()
WHERE id = @id
RETURNING *;
