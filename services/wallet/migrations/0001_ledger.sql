-- The Qcash ledger (DESIGN.md section 3).
--
-- Double-entry: every movement is one journal row moving a positive amount from a debit
-- account to a credit account. Seller accounts (1 available, 2 held, 3 Qmoney, 4 pending
-- settlement) belong to the row's seller and have their running balance in `wallets`; platform
-- accounts (101 provider clearing, 102 points programme, 103 ad revenue, 104 forfeiture,
-- 105 settlement) are shared and have no row at all: their balances are derived from the
-- journal, so no transfer ever waits on a platform row.
--
-- Every per-seller table is keyed by seller_id first, so the data can be sharded by seller.

CREATE TABLE wallets (
  seller_id     TEXT PRIMARY KEY,
  state         SMALLINT NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),  -- 1 open, 2 closed (W5)
  -- Second guard of "never negative": the conditional updates below are the first.
  available_yen BIGINT NOT NULL DEFAULT 0 CHECK (available_yen >= 0),
  held_yen      BIGINT NOT NULL DEFAULT 0 CHECK (held_yen >= 0),
  qmoney_yen    BIGINT NOT NULL DEFAULT 0 CHECK (qmoney_yen >= 0),
  pending_yen   BIGINT NOT NULL DEFAULT 0 CHECK (pending_yen >= 0),
  version       BIGINT NOT NULL DEFAULT 0,  -- +1 per applied operation (cache ordering)
  last_seq      BIGINT NOT NULL DEFAULT 0,  -- seq of the seller's newest journal row
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  closed_at     TIMESTAMPTZ
) WITH (fillfactor = 50);  -- room on the page for HOT updates of hot wallets

CREATE TABLE journal (
  seller_id      TEXT NOT NULL,
  seq            BIGINT NOT NULL,  -- 1, 2, 3, ... per seller, no gaps
  entry_type     SMALLINT NOT NULL,
  debit_account  SMALLINT NOT NULL,
  credit_account SMALLINT NOT NULL,
  amount_yen     BIGINT NOT NULL CHECK (amount_yen > 0),
  available_after BIGINT NOT NULL,
  held_after      BIGINT NOT NULL,
  qmoney_after    BIGINT NOT NULL,
  pending_after   BIGINT NOT NULL,
  product        SMALLINT NOT NULL DEFAULT 0,
  reference      TEXT NOT NULL DEFAULT '',
  hold_id        BIGINT NOT NULL DEFAULT 0,
  caller         TEXT NOT NULL DEFAULT '',
  created_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (seller_id, seq),
  CHECK (debit_account <> credit_account)
);

-- The journal is append-only: a movement is never edited, only followed by another.
CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER journal_no_update BEFORE UPDATE OR DELETE ON journal
  FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
  FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

-- Holds for ad applications (W3). A hold resolves at most once: 1 pending -> 2 captured,
-- 3 released, 4 expired or 5 forfeited (wallet closed).
CREATE TABLE holds (
  seller_id    TEXT NOT NULL,
  hold_id      BIGINT NOT NULL,  -- the journal seq of the hold's entry
  amount_yen   BIGINT NOT NULL CHECK (amount_yen > 0),
  product      SMALLINT NOT NULL,
  reference    TEXT NOT NULL,
  state        SMALLINT NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 5),
  captured_yen BIGINT NOT NULL DEFAULT 0 CHECK (captured_yen >= 0 AND captured_yen <= amount_yen),
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at   TIMESTAMPTZ NOT NULL,
  resolved_at  TIMESTAMPTZ,
  PRIMARY KEY (seller_id, hold_id)
);
CREATE INDEX holds_pending_by_expiry ON holds (expires_at) WHERE state = 1;

-- The durable half of idempotency (DESIGN.md section 4): written in the same transaction as
-- the effect; the primary key is the last guard against applying a key twice. The stored
-- result is what a replay answers.
CREATE TABLE idempotency_keys (
  caller        TEXT NOT NULL,
  idem_key      TEXT NOT NULL,
  seller_id     TEXT NOT NULL,
  op_type       SMALLINT NOT NULL,
  request_hash  TEXT NOT NULL,
  entry_seq     BIGINT NOT NULL,
  hold_id       BIGINT NOT NULL,
  amount_yen    BIGINT NOT NULL,
  amount2_yen   BIGINT NOT NULL,
  created       BOOLEAN NOT NULL,
  available_yen BIGINT NOT NULL,
  held_yen      BIGINT NOT NULL,
  qmoney_yen    BIGINT NOT NULL,
  pending_yen   BIGINT NOT NULL,
  version       BIGINT NOT NULL,
  state         SMALLINT NOT NULL,
  expires_at    TIMESTAMPTZ,
  recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (caller, idem_key)
);

-- Raises when a batch's writes do not match what it locked: a guard that must never fire.
CREATE FUNCTION qcash_assert(ok BOOLEAN, message TEXT) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN
  IF NOT ok THEN
    RAISE EXCEPTION 'ledger invariant broken: %', message;
  END IF;
  RETURN true;
END $$;
