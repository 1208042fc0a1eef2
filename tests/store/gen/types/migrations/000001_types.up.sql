-- Every type the generator maps, as columns, composite attributes and parameters.
CREATE EXTENSION hstore;
CREATE EXTENSION citext;
CREATE EXTENSION ltree;

CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TYPE money_amount AS (amount numeric, currency text);
CREATE TYPE feeling AS (mood mood, moods mood[], since date);
CREATE TYPE priced_item AS (label text, price money_amount, history money_amount[], tags text[]);
CREATE DOMAIN checked_price AS money_amount CHECK ((VALUE).amount >= 0);
CREATE DOMAIN strict_text AS text NOT NULL;
-- Named like what the generated modules define or import, and a dropped attribute.
CREATE TYPE query AS ("Query" strict_text, "class" int, gone int, "1st" hstore);
ALTER TYPE query DROP ATTRIBUTE gone;
-- Timestamps inside composites, nested and in arrays, beside one without a zone.
CREATE TYPE stamped AS (label text, at timestamptz, seen timestamptz[], wall timestamp);
CREATE TYPE stamp_log AS (first stamped, rest stamped[]);
-- A table whose model takes the plain name first.
CREATE TABLE money_amounts (id bigint PRIMARY KEY);

CREATE TABLE baskets (
    id bigint PRIMARY KEY,
    item priced_item,
    items priced_item[] NOT NULL DEFAULT '{}',
    feeling feeling NOT NULL,
    cap checked_price,
    q query,
    attrs hstore,
    attrs_list hstore[]
);

CREATE TABLE every_type (
    id bigint PRIMARY KEY,
    i2 int2,
    i4 int4,
    i8 int8,
    o oid,
    f4 float4,
    f8 float8,
    num numeric,
    txt text,
    vc varchar(10),
    ci citext,
    nm name,
    bp char(3),
    ch "char",
    b bool,
    u uuid,
    tstz timestamptz,
    ts timestamp,
    d date,
    t time,
    ttz timetz,
    iv interval,
    by bytea,
    js json,
    jsb jsonb,
    ip inet,
    net cidr,
    mac macaddr,
    mac8 macaddr8,
    bits bit(4),
    vbits varbit,
    pt point,
    bx box,
    seg lseg,
    ln line,
    pth path,
    poly polygon,
    circ circle,
    x xid,
    x8 xid8,
    c cid,
    lsn pg_lsn,
    ti tid,
    cash money,
    doc xml,
    vec tsvector,
    tq tsquery,
    snap txid_snapshot,
    snap8 pg_snapshot,
    rc regclass,
    rt regtype,
    rp regproc,
    rpd regprocedure,
    ro regoper,
    ror regoperator,
    rcf regconfig,
    rd regdictionary,
    rn regnamespace,
    rr regrole,
    rcl regcollation,
    acl aclitem,
    jp jsonpath,
    cur refcursor,
    tree ltree,
    ints int4range,
    times tstzrange,
    multi int4multirange,
    arr int4[],
    texts text[],
    moods mood[],
    m mood,
    st strict_text DEFAULT 'x'
);

CREATE STATISTICS every_type_stats (ndistinct, dependencies, mcv) ON i2, i4 FROM every_type;
