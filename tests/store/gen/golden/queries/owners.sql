-- Owners: the golden fixture's second table.

-- name: GetOwnerByID :one
-- Fetch one owner by primary key.
SELECT * FROM owners WHERE id = @id;

-- name: ListOwnersWithEmailDomain :many
-- Owners whose email ends in '@' || domain ('@' in a literal is not a parameter).
SELECT id, email FROM owners
WHERE email LIKE '%@' || @email_domain -- and @not_a_param in a comment
ORDER BY id;

-- name: CountOwners :one
SELECT count(*) FROM owners;
