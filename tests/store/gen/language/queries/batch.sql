-- Batches: one round trip for many argument sets (sqlc's :copyfrom and :batch* kinds).

-- name: CopyCustomers :copyfrom
-- Bulk-load customers with COPY.
INSERT INTO customers (email, id, nickname) VALUES (@email, @id, @nickname);

-- name: AddScores :batchexec
UPDATE customers SET score = score + @points WHERE id = @id;

-- name: OrdersOfEach :batchmany
SELECT id, total FROM orders WHERE customer_id = $1 ORDER BY id;

-- name: RenameEach :batchone
UPDATE customers SET nickname = sqlc.narg(nickname) WHERE id = @id RETURNING *;

-- name: NicknameOfEach :batchone
SELECT nickname FROM customers WHERE id = $1;
