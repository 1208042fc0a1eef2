-- name: GetBasket :one
SELECT * FROM baskets WHERE id = @id;

-- name: InsertBasket :exec
INSERT INTO baskets (id, item, items, feeling, cap, q, attrs, attrs_list)
VALUES (@id, @item, @items, @feeling, @cap, @q, @attrs, @attrs_list);

-- A composite parameter and a composite scalar result.
-- name: EchoItem :one
SELECT @item::priced_item AS item;

-- A composite parameter holding timestamps: a naive one is refused inside it too.
-- name: EchoStampLog :one
SELECT @log::stamp_log AS log;

-- name: BasketItem :one
SELECT item FROM baskets WHERE id = @id;

-- name: BasketItems :one
SELECT items FROM baskets WHERE id = @id;

-- name: BasketParts :many
SELECT id, (item).price AS price, (item).price.amount AS amount, cap, feeling
FROM baskets ORDER BY id;

-- name: MergeAttrs :one
SELECT coalesce(attrs, ''::hstore) || @extra::hstore AS merged FROM baskets WHERE id = @id;

-- name: GetEveryType :one
SELECT * FROM every_type WHERE id = @id;

-- name: InsertEveryType :exec
INSERT INTO every_type (
    id, i2, i4, i8, o, f4, f8, num, txt, vc, ci, nm, bp, ch, b, u, tstz, ts, d, t, ttz, iv, by,
    js, jsb, ip, net, mac, mac8, bits, vbits, pt, bx, seg, ln, pth, poly, circ, x, x8, c, lsn,
    ti, cash, doc, vec, tq, snap, snap8, rc, rt, rp, rpd, ro, ror, rcf, rd, rn, rr, rcl, acl,
    jp, cur, tree, ints, times, multi, arr, texts, moods, m
) VALUES (
    @id, @i2, @i4, @i8, @o, @f4, @f8, @num, @txt, @vc, @ci, @nm, @bp, @ch, @b, @u, @tstz, @ts,
    @d, @t, @ttz, @iv, @by, @js, @jsb, @ip, @net, @mac, @mac8, @bits, @vbits, @pt, @bx, @seg,
    @ln, @pth, @poly, @circ, @x, @x8, @c, @lsn, @ti, @cash, @doc, @vec, @tq, @snap, @snap8, @rc,
    @rt, @rp, @rpd, @ro, @ror, @rcf, @rd, @rn, @rr, @rcl, @acl, @jp, @cur, @tree, @ints,
    @times, @multi, @arr, @texts, @moods, @m
);

-- Types a table cannot hold (or a parameter cannot take): read only.
-- name: ReadOnlyTypes :one
SELECT ROW(1, 'a') AS rec, '1 2'::int2vector AS i2v, '1 2'::oidvector AS ov,
       pg_sleep(0) AS nothing, ROW(1, 2)::money_amount AS cast_row, 'c'::cstring AS cs,
       (SELECT adbin FROM pg_attrdef WHERE adrelid = 'every_type'::regclass) AS node;

-- name: ExtendedStatistics :one
SELECT d.stxdndistinct, d.stxddependencies, d.stxdmcv
FROM pg_statistic_ext_data d JOIN pg_statistic_ext s ON s.oid = d.stxoid
WHERE s.stxname = 'every_type_stats';
