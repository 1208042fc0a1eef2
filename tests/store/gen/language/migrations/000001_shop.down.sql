DROP SEQUENCE orders_id_seq; DROP SCHEMA archive CASCADE; DROP VIEW customer_totals; DROP TABLE categories, orders, customers; DROP TYPE order_state;
