-- Names and shapes that are valid PostgreSQL and awkward Python.
CREATE TYPE "sign" AS ENUM ('#', '*', 'a-b', 'a_b', '1st', 'class');
CREATE TYPE "class" AS ENUM ('none', 'None');
CREATE TYPE money_pair AS (amount numeric, currency text);
CREATE DOMAIN short_code AS text CHECK (length(VALUE) < 8);

CREATE TABLE "x-venue" (
    id bigint PRIMARY KEY,
    "!!!nobody" text,
    "class" "class" NOT NULL,
    "from" text NOT NULL,
    "1st" int,
    "uuid" uuid,
    "datetime" timestamptz,
    "model_config" text,
    "self" text,
    signs sign[] NOT NULL DEFAULT '{}',
    "Sign" sign
);

CREATE TABLE "x_venues" (id bigint PRIMARY KEY);

CREATE TABLE "query" (id bigint PRIMARY KEY, "Query" text);

CREATE TABLE oddities (
    id bigint PRIMARY KEY,
    during tstzrange,
    periods int4multirange,
    mac macaddr,
    mac8 macaddr8,
    flags bit(4),
    vflags varbit,
    spot point,
    area box,
    seg lseg,
    ln line,
    route path,
    shape polygon,
    ring circle,
    tx xid,
    cmd cid,
    price money,
    doc xml,
    words tsvector,
    pair money_pair,
    code short_code,
    lsn pg_lsn
);

-- Tables named like what the generated modules import.
CREATE TABLE stores (id bigint PRIMARY KEY);
CREATE TABLE mappings (id bigint PRIMARY KEY);
