-- name: InsertPet :one
-- Create a pet.
-- nullable: owner_id, weight
INSERT INTO pets (owner_id, name, kind, tags, weight, data)
VALUES (@owner_id, @name, @kind, @tags::text[], @weight, @data)
RETURNING *;

-- name: ListPetsByOwnerID :many
-- An owner's pets, by name.
SELECT p.* FROM pets p
WHERE p.owner_id = @owner_id
  -- @authorize_filter p
ORDER BY p.name;

-- name: ListPetsWithOwners :many
-- Pets of the given kinds with their owner, if any.
SELECT p.name, p.kind, o.email, o.nickname, p.weight
FROM pets p
LEFT JOIN owners o ON o.id = p.owner_id
WHERE p.kind = ANY (@kinds::pet_kind[])
  -- @authorize_filter p
ORDER BY p.name;

-- name: CountPetsPerKind :many
-- How many pets of each kind.
SELECT kind, count(*) AS pets FROM pets GROUP BY kind ORDER BY kind;

-- name: GetPetShoutByID :one
-- not-null: shout
SELECT upper(name) AS shout, name || '!' AS bang, EXISTS (SELECT 1 FROM owners) AS any_owner
FROM pets WHERE id = @id;

-- name: GetPetKindByID :one
SELECT kind FROM pets WHERE id = @id;

-- name: RenamePet :exec
UPDATE pets SET name = @name WHERE id = @id;

-- name: DeletePetsByOwnerID :execrows
-- Delete an owner's pets; returns how many.
DELETE FROM pets WHERE owner_id = @owner_id;

-- name: ListPets :many
-- Every pet the subject may see: the authorization predicate is the only condition.
SELECT * FROM pets
-- @authorize_filter
ORDER BY name;
