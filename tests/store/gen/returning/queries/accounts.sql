-- PostgreSQL 18's RETURNING old/new: which side can be NULL depends on the statement.

-- name: RenameAccount :one
UPDATE accounts SET handle = @handle WHERE id = @id
RETURNING old.handle AS old_handle, new.handle AS new_handle, old.note AS old_note;

-- name: DropAccount :one
DELETE FROM accounts WHERE id = @id RETURNING old.handle AS gone, new.handle AS after;

-- name: OpenAccount :one
INSERT INTO accounts (id, handle) VALUES (@id, @handle)
RETURNING old.handle AS before, new.handle AS created;

-- name: PutAccount :one
INSERT INTO accounts (id, handle) VALUES (@id, @handle)
ON CONFLICT (id) DO UPDATE SET handle = EXCLUDED.handle
RETURNING old.handle AS previous, new.handle AS current;

-- name: RenameAccountAliased :one
UPDATE accounts AS a SET handle = @handle WHERE a.id = @id
RETURNING WITH (OLD AS o, NEW AS n) o.handle AS was, n.handle AS is_now, a.handle;
