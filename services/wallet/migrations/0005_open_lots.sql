-- What is left of each lot moves into its wallet's row (docs/LEDGER.md "Lots", PERFORMANCE.md).
--
-- With 0002 every debit also read its seller's lots and updated the ones it took from: two
-- more row operations per operation, which cost 20-40 % of the durable spends per second.
-- The wallet row is locked, read and rewritten by every batch anyway, so the mutable part of
-- the lots now lives there: `wallets.open_lots`, a two-dimensional array with one row
-- {lot_id, paid (1 or 0), available_yen, held_yen} per lot with Qcash left, by lot_id. A lot
-- with nothing left is not listed. The facts of a lot (origin, amount, reference, method,
-- price, month, time) are written once when it is created and never change: table
-- `lot_origins`. The view `lots` joins the two, so every reader sees a lot as before.

ALTER TABLE wallets ADD COLUMN open_lots BIGINT[] NOT NULL DEFAULT '{}';
UPDATE wallets w
   SET open_lots = coalesce(
         (SELECT array_agg(ARRAY[l.lot_id, l.paid::int, l.available_yen, l.held_yen]
                           ORDER BY l.lot_id)
            FROM lots l
           WHERE l.seller_id = w.seller_id AND l.available_yen + l.held_yen > 0), '{}');
ALTER TABLE wallets DROP COLUMN lots_from;
ALTER TABLE wallets ADD CONSTRAINT wallets_open_lots_shape
  CHECK (cardinality(open_lots) = 0 OR (array_ndims(open_lots) = 2
                                        AND array_length(open_lots, 2) = 4));

ALTER TABLE lots RENAME TO lot_origins;
ALTER TABLE lot_origins DROP COLUMN available_yen, DROP COLUMN held_yen;
CREATE TRIGGER lot_origins_no_update BEFORE UPDATE ON lot_origins
  FOR EACH ROW EXECUTE FUNCTION lots_keep();
CREATE OR REPLACE FUNCTION lots_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the origin of a lot never changes and is never deleted (% refused)', TG_OP;
END $$;

-- What is left of every open lot, from the wallets' rows.
CREATE VIEW lot_balances AS
SELECT w.seller_id, w.open_lots[i][1] AS lot_id, w.open_lots[i][2] = 1 AS paid,
       w.open_lots[i][3] AS available_yen, w.open_lots[i][4] AS held_yen
  FROM wallets w CROSS JOIN LATERAL generate_subscripts(w.open_lots, 1) AS i;

-- Every lot as before: its origin, and what is left of it (0 once used up).
CREATE VIEW lots AS
SELECT o.seller_id, o.lot_id, o.origin, o.paid, o.amount_yen,
       coalesce(b.available_yen, 0) AS available_yen, coalesce(b.held_yen, 0) AS held_yen,
       o.reference, o.payment_method, o.price_paid_yen, o.points_month, o.created_at
  FROM lot_origins o
  LEFT JOIN lot_balances b ON b.seller_id = o.seller_id AND b.lot_id = o.lot_id;
