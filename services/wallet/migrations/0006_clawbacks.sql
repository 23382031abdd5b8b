-- Reversals after credit (DESIGN.md section 9; docs/LEDGER.md "Claw-backs and debt").
--
-- A provider can take a charge's payment back after its Qcash was credited. ClawBack takes it
-- back from available first (entry 12 CLAWBACK, available -> provider clearing); what the
-- seller already spent becomes a debt on the seller's receivable account (account 5; entry 13
-- DEBT, receivable -> provider clearing; no lots: that Qcash is gone already). The seller's
-- next credits pay it back before any of them becomes available (entry 14 DEBT_RECOVERY,
-- available -> receivable, consuming the credit's own new lot).
--
-- The receivable account's balance is never positive; `wallets.debt_yen` is its negation, as
-- `available_yen` is the available account's balance. Every journal row carries the debt right
-- after it (`debt_after`, 0 for every row written before), as it carries the other balances.
-- The journal has no CHECK on entry types or accounts, so the new numbers need no change there.

ALTER TABLE wallets ADD COLUMN debt_yen BIGINT NOT NULL DEFAULT 0 CHECK (debt_yen >= 0);
ALTER TABLE journal ADD COLUMN debt_after BIGINT NOT NULL DEFAULT 0 CHECK (debt_after >= 0);
-- What a replay of a mutation answers includes the debt of its balance.
ALTER TABLE idempotency_keys ADD COLUMN debt_yen BIGINT NOT NULL DEFAULT 0;

-- The canonical bytes of an entry (EntryHash, ledger.h CanonicalEntry) end with its debt after
-- the lots, only when it is not 0: every entry written before keeps its bytes and its hash. The
-- SQL twin of 0003, kept for checks from SQL, says the same.
CREATE OR REPLACE FUNCTION qcash_journal_canonical(j journal) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  t text;
  k integer;
BEGIN
  t := '16:qcash-journal-v1;'
    || octet_length(convert_to(j.seller_id, 'UTF8')) || ':' || j.seller_id || ';'
    || 'i' || j.seq || ';'
    || 'i' || j.entry_type || ';'
    || 'i' || j.debit_account || ';'
    || 'i' || j.credit_account || ';'
    || 'i' || j.amount_yen || ';'
    || 'i' || j.available_after || ';'
    || 'i' || j.held_after || ';'
    || 'i' || j.qmoney_after || ';'
    || 'i' || j.pending_after || ';'
    || 'i' || j.product || ';'
    || octet_length(convert_to(j.reference, 'UTF8')) || ':' || j.reference || ';'
    || 'i' || j.hold_id || ';'
    || octet_length(convert_to(j.caller, 'UTF8')) || ':' || j.caller || ';'
    || 'i' || (extract(epoch FROM j.created_at) * 1000000)::bigint || ';'
    || 'i' || j.paid_yen || ';'
    || 'i' || cardinality(j.lot_ids) || ';';
  FOR k IN 1 .. cardinality(j.lot_ids) LOOP
    t := t || 'i' || j.lot_ids[array_lower(j.lot_ids, 1) + k - 1] || ';'
           || 'i' || j.lot_amounts[array_lower(j.lot_amounts, 1) + k - 1] || ';';
  END LOOP;
  IF j.debt_after <> 0 THEN
    t := t || 'i' || j.debt_after || ';';
  END IF;
  RETURN convert_to(t, 'UTF8');
END $$;

-- A claw-back finds its charge's lot by order id (lot_origins.reference of a voucher, Qmoney
-- or pending-settlement lot) ...
CREATE INDEX lot_origins_reference ON lot_origins (seller_id, reference);
-- ... and what earlier claw-backs of the same order took (CLAWBACK and DEBT rows name it).
CREATE INDEX journal_clawbacks ON journal (seller_id, reference) WHERE entry_type IN (12, 13);

-- The operators' record of every reversal applied: the provider's reversal id and kind, which
-- the journal (whose reference is the order id) does not carry. One row per applied claw-back,
-- written in the same transaction as its entries; never changed.
CREATE TABLE clawbacks (
  seller_id          TEXT NOT NULL,
  entry_seq          BIGINT NOT NULL,  -- the first entry written (CLAWBACK, or DEBT)
  order_id           TEXT NOT NULL,
  reversal_reference TEXT NOT NULL,
  kind               SMALLINT NOT NULL CHECK (kind IN (1, 2, 3)),  -- chargeback, default, refund
  amount_yen         BIGINT NOT NULL CHECK (amount_yen > 0),
  clawed_back_yen    BIGINT NOT NULL CHECK (clawed_back_yen >= 0),
  debt_yen           BIGINT NOT NULL CHECK (debt_yen >= 0),
  caller             TEXT NOT NULL,
  created_at         TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (seller_id, entry_seq),
  CHECK (clawed_back_yen + debt_yen = amount_yen)
);
CREATE TRIGGER clawbacks_no_change BEFORE UPDATE OR DELETE ON clawbacks
  FOR EACH ROW EXECUTE FUNCTION journal_append_only();

-- The issuer's books (migration 0004) count the receivable and the claw-backs too. Every
-- checkpoint written so far covers entries from before this migration, which had neither: 0 is
-- their exact figure (adding a column with a default fires no row trigger).
ALTER TABLE books_checkpoints
  ADD COLUMN seller_receivable BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN paid_clawed_back  BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN free_clawed_back  BIGINT NOT NULL DEFAULT 0;
