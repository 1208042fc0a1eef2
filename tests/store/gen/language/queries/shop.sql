-- sqlc's query language, as query files written for sqlc spell it.

-- name: GetCustomer :one
SELECT * FROM customers WHERE id = $1;

-- name: ListCustomersPage :many
SELECT id, email FROM customers WHERE score >= $1 ORDER BY id LIMIT $2 OFFSET $3;

-- name: CreateCustomer :one
INSERT INTO customers (id, email, nickname, bonus) VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: RenameCustomer :execrows
-- required: nickname
UPDATE customers SET nickname = $2, bonus = @bonus WHERE id = $1;

-- name: OrdersBetween :many
-- param: $1 start_at, $2 end_at
SELECT id, total FROM orders WHERE placed_at BETWEEN $1 AND $2 ORDER BY id;

-- name: OrdersOfCustomers :many
SELECT id, customer_id FROM orders WHERE customer_id IN (sqlc.slice(customer_ids)) ORDER BY id;

-- name: OrdersNotInStates :many
SELECT id FROM orders WHERE state NOT IN (sqlc.slice('states')) ORDER BY id;

-- name: SearchCustomers :many
SELECT id FROM customers
WHERE (sqlc.narg(nickname)::text IS NULL OR nickname = sqlc.narg(nickname))
  AND score >= sqlc.arg(min_score)
ORDER BY id;

/* name: MixedParams :many */
SELECT id FROM orders WHERE customer_id = @customer_id AND total > $1 ORDER BY id;

-- name: OrderMarks :many
-- A result with no columns: one empty row per order (PostgreSQL allows SELECT FROM).
SELECT FROM orders WHERE customer_id = $1;

-- name: OrdersInStateSince :many
-- A name fills the gap its positional neighbours leave: @state is $2.
SELECT id FROM orders WHERE customer_id = $1 AND state = @state AND placed_at > $3 ORDER BY id;

-- name: list_order_states :many
SELECT DISTINCT state FROM orders ORDER BY state;

-- name: TouchOrder :execresult
UPDATE orders SET note = 'touched' WHERE id = $1;

-- name: InsertOrderID :execlastid
INSERT INTO orders (id, customer_id, total) VALUES ($1, $2, $3) RETURNING id;

-- name: OrderPairs :many
SELECT a.id, b.id, a.total + b.total FROM orders a JOIN orders b ON b.customer_id = a.customer_id;

-- name: CustomerStats :many
SELECT
    c.id,
    count(o.id) FILTER (WHERE o.state = 'paid') AS paid,
    count(*) = 0 AS lonely,
    c.score * 2 + 1 AS doubled,
    c.bonus + 1 AS bonus_plus,
    CASE WHEN c.score > 10 THEN 'gold' ELSE 'plain' END AS tier,
    CASE WHEN c.score > 10 THEN 'gold' END AS maybe_tier,
    COALESCE(c.nickname, c.email) AS display,
    lower(c.email) AS email_lower,
    lower(c.nickname) AS nickname_lower,
    NULLIF(c.score, 0) AS nonzero_score,
    sum(o.total) AS spent,
    max(c.score) AS top_score,
    regexp_match(c.email, 'x') AS match,
    c.email LIKE '%@%' AS has_at,
    now() AS seen_at
FROM customers c
LEFT JOIN orders o ON o.customer_id = c.id
GROUP BY c.id
ORDER BY c.id;

-- name: TotalSpent :one
SELECT sum(total) AS spent, max(total) AS top, avg(total) AS mean, count(*) AS n FROM orders;

-- name: CustomerTotals :many
SELECT id, email, orders, nickname FROM customer_totals ORDER BY id;

-- name: CategoryTree :many
WITH RECURSIVE tree (id, parent_id, label, depth) AS (
    SELECT id, parent_id, label, 1 FROM categories WHERE parent_id IS NULL
    UNION ALL
    SELECT c.id, c.parent_id, c.label, t.depth + 1
    FROM categories c JOIN tree t ON c.parent_id = t.id
)
SELECT id, parent_id, label, depth FROM tree ORDER BY id;

-- name: OrdersWithCustomers :many
SELECT sqlc.embed(o), sqlc.embed(c), o.note AS order_note
FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
ORDER BY o.id;

-- name: Nicknames :many
SELECT nickname FROM customers ORDER BY id;

-- name: ArchivedNicknames :many
SELECT c.nickname FROM archive.customers c ORDER BY c.id;

-- name: CustomersWithOrderCounts :many
SELECT
    c.id,
    (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) AS order_count,
    (SELECT max(o.total) FROM orders o WHERE o.customer_id = c.id) AS top_order,
    (SELECT o.id FROM orders o WHERE o.customer_id = c.id LIMIT 1) AS some_order
FROM customers c
ORDER BY c.id;

-- name: TopScoresRollup :many
SELECT max(score) AS top, to_char(now(), '') AS empty_format FROM customers GROUP BY ROLLUP (email);

-- name: Series :many
SELECT i, i * 2 AS doubled, u.v, u.n
FROM generate_series(1, $1::int) AS i, unnest(ARRAY[1, NULL]::int[]) WITH ORDINALITY AS u (v, n)
ORDER BY i, u.n;

-- name: ScoreOffsets :many
-- nullable: maybe
SELECT id, score + $1::int AS shifted, score + sqlc.narg(maybe)::int AS maybe_shifted
FROM customers ORDER BY id;

-- name: SeriesInSelect :many
SELECT generate_series(1, $1::int) AS n;

-- name: OrderIDSequence :one
SELECT last_value, is_called FROM orders_id_seq;
