-- The tamper-evident journal for entries written before it existed (docs/LEDGER.md
-- "Tamper-evident journal").
--
-- Rows written before 0002 have no hash, and a seller's first row written after 0002 was
-- chained to an empty head (0002 left wallets.chain_head NULL), as if it were the seller's
-- first. Here every chain that holds a row without a hash is recomputed from its seq 1, in seq
-- order, exactly as the ledger computes it (ledger.cc CanonicalEntry / EntryHash), the heads
-- are set, and from then on every row must have its hash.

-- No batch may write while the chains are recomputed: a batch locks its wallets first
-- (FOR UPDATE, which EXCLUSIVE refuses), so one waiting here chains to the new head once this
-- commits. Reads go on.
LOCK TABLE wallets IN EXCLUSIVE MODE;

-- CanonicalEntry()'s bytes: the Fingerprint encoding (common/hash.h), "<bytes>:<text>;" per
-- text and "i<decimal>;" per number, of the tag, the row's fields, created_at in Unix
-- microseconds (extract() is exact: numeric), paid_yen, the number of lots and each lot's id
-- and amount. Text lengths are in UTF-8 bytes, as the service reads them. Kept after the
-- backfill so that a chain can be checked from SQL too (the tests compare it with the C++).
CREATE FUNCTION qcash_journal_canonical(j journal) RETURNS bytea
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
  RETURN convert_to(t, 'UTF8');
END $$;

-- EntryHash(): SHA-256 over the previous row's hash (empty for the seller's first) and the
-- canonical bytes.
CREATE FUNCTION qcash_journal_entry_hash(previous bytea, j journal) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(coalesce(previous, ''::bytea) || qcash_journal_canonical(j))
$$;

-- The journal refuses every UPDATE (journal_no_update, 0001): the backfill is the one
-- sanctioned rewrite, and only of the hash column, so the trigger is disabled around it, in
-- this same transaction (a failure rolls the DISABLE back too).
ALTER TABLE journal DISABLE TRIGGER journal_no_update;

DO $$
DECLARE
  s text;
  r journal;
  head bytea;
  h bytea;
BEGIN
  FOR s IN SELECT DISTINCT seller_id FROM journal WHERE hash IS NULL LOOP
    head := NULL;
    FOR r IN SELECT * FROM journal WHERE seller_id = s ORDER BY seq LOOP
      h := qcash_journal_entry_hash(head, r);
      IF r.hash IS DISTINCT FROM h THEN
        UPDATE journal SET hash = h WHERE seller_id = s AND seq = r.seq;
      END IF;
      head := h;
    END LOOP;
    UPDATE wallets SET chain_head = head WHERE seller_id = s;
  END LOOP;
END $$;

ALTER TABLE journal ENABLE TRIGGER journal_no_update;

ALTER TABLE journal ALTER COLUMN hash SET NOT NULL;
