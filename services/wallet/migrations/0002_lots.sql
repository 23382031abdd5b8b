-- Provenance and the issuer's books (DESIGN.md section 8; docs/LEDGER.md "Lots").
--
-- Every credit of Qcash creates a lot: where its Qcash came from, and how much of it is still
-- available or reserved by pending holds. Every debit consumes lots in one order (free before
-- paid, oldest first within each: ledger.cc ConsumedBefore), and its journal row names them
-- (lot_ids / lot_amounts, in the order taken) with the paid part of its amount (paid_yen).
-- A hold's journal row names the lots it reserved; its capture consumes them, its release or
-- expiry returns them.
--
-- Each journal row also carries `hash`: SHA-256 over the previous row of the same seller's
-- hash and this row's canonical content (EntryHash in services/wallet/ledger.h), so that an
-- edit anywhere breaks the seller's chain; `wallets.chain_head` is the newest hash of each
-- chain (migration 0003 computes the hashes of the entries written before this one).

CREATE TABLE lots (
  seller_id      TEXT NOT NULL,
  lot_id         BIGINT NOT NULL,  -- the journal seq of the credit; 0: the opening lot
  origin         SMALLINT NOT NULL CHECK (origin IN (1, 2, 3, 4, 9)),
  paid           BOOLEAN NOT NULL,
  amount_yen     BIGINT NOT NULL CHECK (amount_yen > 0),
  available_yen  BIGINT NOT NULL CHECK (available_yen >= 0),
  held_yen       BIGINT NOT NULL CHECK (held_yen >= 0),
  reference      TEXT NOT NULL DEFAULT '',
  payment_method TEXT NOT NULL DEFAULT '',
  price_paid_yen BIGINT NOT NULL DEFAULT 0,
  points_month   TEXT NOT NULL DEFAULT '',
  created_at     TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (seller_id, lot_id),
  CHECK (available_yen + held_yen <= amount_yen),
  CHECK (paid = (origin <> 2))
) WITH (fillfactor = 70);  -- only available_yen / held_yen change: HOT updates

-- The smallest lot id of the seller that may still have Qcash left (every lot below it is
-- used up): a batch loads the lots from here, so used-up lots are never read again.
ALTER TABLE wallets ADD COLUMN lots_from BIGINT NOT NULL DEFAULT 0;
ALTER TABLE wallets ADD COLUMN chain_head BYTEA;

ALTER TABLE journal ADD COLUMN lot_ids BIGINT[] NOT NULL DEFAULT '{}';
ALTER TABLE journal ADD COLUMN lot_amounts BIGINT[] NOT NULL DEFAULT '{}';
ALTER TABLE journal ADD COLUMN paid_yen BIGINT NOT NULL DEFAULT 0 CHECK (paid_yen >= 0);
ALTER TABLE journal ADD COLUMN hash BYTEA;
ALTER TABLE journal ADD CONSTRAINT journal_lots_paired
  CHECK (cardinality(lot_ids) = cardinality(lot_amounts));

-- Balances at an instant: a seller's last entry at or before it, and the platform's entries
-- after a checkpoint. The journal is appended in time order, so a BRIN index costs little.
CREATE INDEX journal_seller_time ON journal (seller_id, created_at);
CREATE INDEX journal_time ON journal USING brin (created_at);

-- Existing wallets: what they hold now becomes one opening lot each, reserved as far as their
-- pending holds reserve it (a hold placed before lots existed reserved from the opening lot).
INSERT INTO lots (seller_id, lot_id, origin, paid, amount_yen, available_yen, held_yen,
                  reference, created_at)
SELECT seller_id, 0, 9, true, available_yen + held_yen, available_yen, held_yen, 'opening', now()
  FROM wallets WHERE available_yen + held_yen > 0;
UPDATE wallets SET lots_from = CASE WHEN available_yen + held_yen > 0 THEN 0 ELSE last_seq + 1 END;

-- Lots are never deleted; only their available and held amounts change.
CREATE FUNCTION lots_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'lots are never deleted (% refused)', TG_OP;
END $$;
CREATE TRIGGER lots_no_delete BEFORE DELETE ON lots
  FOR EACH ROW EXECUTE FUNCTION lots_keep();
CREATE TRIGGER lots_no_truncate BEFORE TRUNCATE ON lots
  FOR EACH STATEMENT EXECUTE FUNCTION lots_keep();
