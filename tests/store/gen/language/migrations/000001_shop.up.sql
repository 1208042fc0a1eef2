-- A small shop: the language corpus's schema (nullable and NOT NULL columns side by side).
CREATE TYPE order_state AS ENUM ('open', 'paid', 'shipped');

CREATE TABLE customers (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    nickname text,
    score int NOT NULL DEFAULT 0,
    bonus int
);

CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    state order_state NOT NULL DEFAULT 'open',
    total numeric NOT NULL,
    note text,
    placed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE categories (
    id bigint PRIMARY KEY,
    parent_id bigint REFERENCES categories (id),
    label text NOT NULL
);

CREATE VIEW customer_totals AS
SELECT c.id, c.email, count(o.id) AS orders, c.nickname
FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
GROUP BY c.id;

-- The same table name in another schema, with the opposite nullability.
CREATE SCHEMA archive;
CREATE TABLE archive.customers (id bigint PRIMARY KEY, email text, nickname text NOT NULL);

CREATE SEQUENCE orders_id_seq;
