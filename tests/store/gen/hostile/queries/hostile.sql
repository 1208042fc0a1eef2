-- Query names and result shapes that are valid SQL and awkward Python.

-- name: In :one
SELECT id FROM "x-venue" WHERE id = $1;

-- name: Execute :exec
DELETE FROM "x-venue" WHERE id = $1;

-- name: get_venue_signs :one
SELECT signs, "Sign", "class" FROM "x-venue" WHERE id = @id;

-- name: listVenues :many
SELECT * FROM "x-venue" ORDER BY id;

-- name: Queries :many
SELECT "!!!nobody", "1st", "uuid", "datetime", "model_config", "self" FROM "x-venue";

-- name: SameNames :many
SELECT a.id, b.id, a.id + 1, a.id - 1 FROM "x-venue" a JOIN x_venues b ON b.id = a.id;

-- name: QueryRow :one
SELECT * FROM "query" WHERE id = $1;

-- name: Oddities :one
SELECT * FROM oddities WHERE id = $1;

-- name: Sleep :one
SELECT pg_sleep(0);

-- name: AnonymousRecord :one
SELECT ROW(1, 'a') AS pair, NULL::int AS nothing;

-- name: CreateOddity :execresult
INSERT INTO oddities (id, during, pair, code) VALUES ($1, $2, $3, $4);

-- name: LastOddityID :execlastid
INSERT INTO oddities (id) VALUES ($1) RETURNING id;

-- name: Self :many
SELECT id FROM "x-venue" WHERE "self" = $1 AND "from" = $2 AND "class" = $3;

-- name: T :one
SELECT * FROM stores WHERE id = $1;

-- name: Mappings :many
SELECT * FROM mappings;

-- name: Nothing :many
SELECT FROM oddities;
