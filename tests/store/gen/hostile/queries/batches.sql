-- Batch kinds whose parameters meet the names the generated method uses itself.

-- name: CopyVenues :copyfrom
INSERT INTO "x-venue" (id, "class", "from", "self", signs) VALUES ($1, $2, $3, $4, $5);

-- name: TouchVenues :batchexec
UPDATE "x-venue" SET "1st" = @i WHERE id = @r;

-- name: VenuesFrom :batchmany
SELECT id, "from" FROM "x-venue" WHERE id >= @rows AND "1st" = @found ORDER BY id;

-- name: VenueClass :batchone
DELETE FROM "x-venue" WHERE id = @enumerate RETURNING "class";

-- name: Sequence :batchone
SELECT 1 AS one WHERE $1::int > 0;
