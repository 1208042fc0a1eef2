-- Comments on posts.

-- name: InsertComment :one
-- Comment on a post as its author.
INSERT INTO comments (post_id, author_id, body) VALUES (@post_id, @author_id, @body)
RETURNING *;

-- name: ListCommentsByPostID :many
-- A post's comments, oldest first.
SELECT * FROM comments WHERE post_id = @post_id
ORDER BY created_at, id;
