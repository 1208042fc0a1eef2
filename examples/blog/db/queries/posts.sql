-- Posts: drafts are their author's, published posts everyone's to read.

-- name: InsertPost :one
-- Write a draft and return it.
INSERT INTO posts (author_id, title, body) VALUES (@author_id, @title, @body)
RETURNING *;

-- name: GetPostByID :one
-- Fetch one post by primary key.
SELECT * FROM posts WHERE id = @id;

-- name: ListPosts :many
-- The posts the caller may read, newest first: its own drafts and posts and
-- every published post. Only the authorization predicate narrows it.
SELECT * FROM posts
-- @authorize_filter
ORDER BY created_at DESC, id DESC
LIMIT @limit_rows;

-- name: UpdatePost :one
-- Change a post's title and body.
UPDATE posts SET title = @title, body = @body, updated_at = now()
WHERE id = @id
  -- @authorize_filter
RETURNING *;

-- name: PublishPost :one
-- Publish a draft (or publish again: the first publication time stays).
UPDATE posts SET published = true, published_at = coalesce(published_at, now()), updated_at = now()
WHERE id = @id
  -- @authorize_filter
RETURNING *;

-- name: DeletePost :one
-- Delete a post and, with it, its comments.
DELETE FROM posts WHERE id = @id
RETURNING *;
