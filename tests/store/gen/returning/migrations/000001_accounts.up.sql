CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    handle text NOT NULL,
    note text
);
