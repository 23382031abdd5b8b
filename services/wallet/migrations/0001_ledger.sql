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

-- The outcome of one operation. outcome: 0 applied, 1 replayed, 2 key reused with another
-- request, 3 wallet not found, 4 wallet closed, 5 insufficient funds, 6 hold not found,
-- 7 hold already resolved, 8 hold expired, 9 capture exceeds hold, 10 balance limit,
-- 11 hold not yet expired (sweeper raced a capture or release).
CREATE TYPE wallet_op_result AS (
  outcome       SMALLINT,
  entry_seq     BIGINT,
  hold_id       BIGINT,
  amount_yen    BIGINT,
  amount2_yen   BIGINT,
  created       BOOLEAN,
  available_yen BIGINT,
  held_yen      BIGINT,
  qmoney_yen    BIGINT,
  pending_yen   BIGINT,
  version       BIGINT,
  state         SMALLINT,
  expires_at    TIMESTAMPTZ
);

-- Why a conditional update on the seller's wallet matched nothing.
CREATE FUNCTION wallet_refusal(p_seller TEXT, p_need_yen BIGINT, p_account SMALLINT)
RETURNS SMALLINT LANGUAGE plpgsql AS $$
DECLARE
  w wallets%ROWTYPE;
BEGIN
  SELECT * INTO w FROM wallets WHERE seller_id = p_seller;
  IF NOT FOUND THEN RETURN 3; END IF;
  IF w.state <> 1 THEN RETURN 4; END IF;
  IF p_account = 1 AND w.available_yen < p_need_yen THEN RETURN 5; END IF;
  IF p_account = 3 AND w.qmoney_yen < p_need_yen THEN RETURN 5; END IF;
  IF p_account = 4 AND w.pending_yen < p_need_yen THEN RETURN 5; END IF;
  RETURN 10;
END $$;

-- Why a conditional update of a hold matched nothing.
CREATE FUNCTION hold_refusal(p_seller TEXT, p_hold BIGINT, p_capture_yen BIGINT)
RETURNS SMALLINT LANGUAGE plpgsql AS $$
DECLARE
  w_state SMALLINT;
  h holds%ROWTYPE;
BEGIN
  SELECT state INTO w_state FROM wallets WHERE seller_id = p_seller;
  IF NOT FOUND THEN RETURN 3; END IF;
  IF w_state <> 1 THEN RETURN 4; END IF;
  SELECT * INTO h FROM holds WHERE seller_id = p_seller AND hold_id = p_hold;
  IF NOT FOUND THEN RETURN 6; END IF;
  IF h.state <> 1 THEN RETURN 7; END IF;
  IF h.expires_at <= now() THEN RETURN 8; END IF;
  IF h.amount_yen < p_capture_yen THEN RETURN 9; END IF;
  RETURN 11;
END $$;

-- Applies one operation; never raises for a business refusal (so one refused operation
-- cannot abort the others of its batch), only for a broken invariant.
--
-- op types: 1 open, 2 credit (code: 1 charge, 2 points conversion), 3 spend (code: product),
-- 4 hold (code: product), 5 capture, 6 release, 7 expire (sweeper), 8 charge from internal
-- funds (code: 1 Qmoney, 2 pending settlement), 9 credit internal funds (code as 8), 10 close.
--
-- Lock order is holds before wallets in every operation that touches both.
CREATE FUNCTION wallet_apply_one(
  p_type SMALLINT, p_seller TEXT, p_caller TEXT, p_key TEXT, p_hash TEXT, p_amount BIGINT,
  p_code SMALLINT, p_ref TEXT, p_hold BIGINT, p_ttl_s BIGINT)
RETURNS wallet_op_result LANGUAGE plpgsql AS $$
DECLARE
  kMax CONSTANT BIGINT := 9223372036854775807;
  r wallet_op_result;
  w wallets%ROWTYPE;
  h holds%ROWTYPE;
  k idempotency_keys%ROWTYPE;
  rest BIGINT;
  entries BIGINT;
  seq BIGINT;
BEGIN
  r.outcome := 0; r.entry_seq := 0; r.hold_id := 0; r.amount_yen := 0; r.amount2_yen := 0;
  r.created := false;

  IF p_key <> '' THEN
    SELECT * INTO k FROM idempotency_keys WHERE caller = p_caller AND idem_key = p_key;
    IF FOUND THEN
      IF k.request_hash <> p_hash THEN
        r.outcome := 2;
        RETURN r;
      END IF;
      RETURN ROW(1::SMALLINT, k.entry_seq, k.hold_id, k.amount_yen, k.amount2_yen, k.created,
                 k.available_yen, k.held_yen, k.qmoney_yen, k.pending_yen, k.version, k.state,
                 k.expires_at)::wallet_op_result;
    END IF;
  END IF;

  IF p_type = 1 THEN  -- open
    INSERT INTO wallets (seller_id) VALUES (p_seller) ON CONFLICT DO NOTHING;
    r.created := FOUND;
    SELECT * INTO w FROM wallets WHERE seller_id = p_seller;

  ELSIF p_type = 2 THEN  -- credit: charge (W2) or points conversion (S3)
    UPDATE wallets SET available_yen = available_yen + p_amount, version = version + 1,
                       last_seq = last_seq + 1
     WHERE seller_id = p_seller AND state = 1 AND available_yen + held_yen <= kMax - p_amount
     RETURNING * INTO w;
    IF NOT FOUND THEN r.outcome := wallet_refusal(p_seller, 0::BIGINT, 0::SMALLINT); RETURN r; END IF;
    INSERT INTO journal VALUES (p_seller, w.last_seq,
      CASE p_code WHEN 1 THEN 1 ELSE 2 END, CASE p_code WHEN 1 THEN 101 ELSE 102 END, 1, p_amount,
      w.available_yen, w.held_yen, w.qmoney_yen, w.pending_yen, 0, p_ref, 0, p_caller);
    r.entry_seq := w.last_seq;

  ELSIF p_type = 3 THEN  -- spend on an ad product (W3)
    UPDATE wallets SET available_yen = available_yen - p_amount, version = version + 1,
                       last_seq = last_seq + 1
     WHERE seller_id = p_seller AND state = 1 AND available_yen >= p_amount
     RETURNING * INTO w;
    IF NOT FOUND THEN r.outcome := wallet_refusal(p_seller, p_amount, 1::SMALLINT); RETURN r; END IF;
    INSERT INTO journal VALUES (p_seller, w.last_seq, 3, 1, 103, p_amount,
      w.available_yen, w.held_yen, w.qmoney_yen, w.pending_yen, p_code, p_ref, 0, p_caller);
    r.entry_seq := w.last_seq;

  ELSIF p_type = 4 THEN  -- hold for an ad application (W3)
    UPDATE wallets SET available_yen = available_yen - p_amount, held_yen = held_yen + p_amount,
                       version = version + 1, last_seq = last_seq + 1
     WHERE seller_id = p_seller AND state = 1 AND available_yen >= p_amount
     RETURNING * INTO w;
    IF NOT FOUND THEN r.outcome := wallet_refusal(p_seller, p_amount, 1::SMALLINT); RETURN r; END IF;
    INSERT INTO journal VALUES (p_seller, w.last_seq, 4, 1, 2, p_amount,
      w.available_yen, w.held_yen, w.qmoney_yen, w.pending_yen, p_code, p_ref, w.last_seq,
      p_caller);
    INSERT INTO holds (seller_id, hold_id, amount_yen, product, reference, expires_at)
      VALUES (p_seller, w.last_seq, p_amount, p_code, p_ref,
              now() + make_interval(secs => p_ttl_s))
      RETURNING expires_at INTO r.expires_at;
    r.entry_seq := w.last_seq;
    r.hold_id := w.last_seq;
    r.amount_yen := p_amount;

  ELSIF p_type = 5 THEN  -- capture a hold for p_amount <= held; the rest goes back
    UPDATE holds SET state = 2, captured_yen = p_amount, resolved_at = now()
     WHERE seller_id = p_seller AND hold_id = p_hold AND state = 1 AND amount_yen >= p_amount
       AND expires_at > now()
     RETURNING * INTO h;
    IF NOT FOUND THEN r.outcome := hold_refusal(p_seller, p_hold, p_amount); RETURN r; END IF;
    rest := h.amount_yen - p_amount;
    entries := CASE WHEN rest > 0 THEN 2 ELSE 1 END;
    UPDATE wallets SET held_yen = held_yen - h.amount_yen, available_yen = available_yen + rest,
                       version = version + 1, last_seq = last_seq + entries
     WHERE seller_id = p_seller AND state = 1
     RETURNING * INTO w;
    IF NOT FOUND THEN RAISE EXCEPTION 'pending hold % of % on a wallet not open', p_hold, p_seller; END IF;
    seq := w.last_seq - entries + 1;
    INSERT INTO journal VALUES (p_seller, seq, 5, 2, 103, p_amount,
      w.available_yen - rest, w.held_yen + rest, w.qmoney_yen, w.pending_yen, h.product,
      h.reference, p_hold, p_caller);
    IF rest > 0 THEN
      INSERT INTO journal VALUES (p_seller, seq + 1, 6, 2, 1, rest,
        w.available_yen, w.held_yen, w.qmoney_yen, w.pending_yen, h.product, h.reference,
        p_hold, p_caller);
    END IF;
    r.entry_seq := seq;
    r.hold_id := p_hold;
    r.amount_yen := p_amount;
    r.amount2_yen := rest;

  ELSIF p_type = 6 OR p_type = 7 THEN  -- release (caller) or expire (sweeper)
    UPDATE holds SET state = CASE p_type WHEN 6 THEN 3 ELSE 4 END, resolved_at = now()
     WHERE seller_id = p_seller AND hold_id = p_hold AND state = 1
       AND (p_type = 6 OR expires_at <= now())
     RETURNING * INTO h;
    IF NOT FOUND THEN r.outcome := hold_refusal(p_seller, p_hold, 0::BIGINT); RETURN r; END IF;
    UPDATE wallets SET held_yen = held_yen - h.amount_yen, available_yen = available_yen + h.amount_yen,
                       version = version + 1, last_seq = last_seq + 1
     WHERE seller_id = p_seller AND state = 1
     RETURNING * INTO w;
    IF NOT FOUND THEN RAISE EXCEPTION 'pending hold % of % on a wallet not open', p_hold, p_seller; END IF;
    INSERT INTO journal VALUES (p_seller, w.last_seq, CASE p_type WHEN 6 THEN 7 ELSE 8 END, 2, 1,
      h.amount_yen, w.available_yen, w.held_yen, w.qmoney_yen, w.pending_yen, h.product,
      h.reference, p_hold, p_caller);
    r.entry_seq := w.last_seq;
    r.hold_id := p_hold;
    r.amount_yen := h.amount_yen;

  ELSIF p_type = 8 THEN  -- charge from Qmoney (code 1) or pending settlement (code 2)
    UPDATE wallets SET
        qmoney_yen = qmoney_yen - CASE p_code WHEN 1 THEN p_amount ELSE 0 END,
        pending_yen = pending_yen - CASE p_code WHEN 2 THEN p_amount ELSE 0 END,
        available_yen = available_yen + p_amount, version = version + 1, last_seq = last_seq + 1
     WHERE seller_id = p_seller AND state = 1
       AND CASE p_code WHEN 1 THEN qmoney_yen ELSE pending_yen END >= p_amount
       AND available_yen + held_yen <= kMax - p_amount
     RETURNING * INTO w;
    IF NOT FOUND THEN
      r.outcome := wallet_refusal(p_seller, p_amount, (p_code + 2)::SMALLINT);
      RETURN r;
    END IF;
    INSERT INTO journal VALUES (p_seller, w.last_seq, 9, p_code + 2, 1, p_amount,
      w.available_yen, w.held_yen, w.qmoney_yen, w.pending_yen, 0, p_ref, 0, p_caller);
    r.entry_seq := w.last_seq;

  ELSIF p_type = 9 THEN  -- credit Qmoney (code 1) or pending settlement (code 2)
    UPDATE wallets SET
        qmoney_yen = qmoney_yen + CASE p_code WHEN 1 THEN p_amount ELSE 0 END,
        pending_yen = pending_yen + CASE p_code WHEN 2 THEN p_amount ELSE 0 END,
        version = version + 1, last_seq = last_seq + 1
     WHERE seller_id = p_seller AND state = 1
       AND CASE p_code WHEN 1 THEN qmoney_yen ELSE pending_yen END <= kMax - p_amount
     RETURNING * INTO w;
    IF NOT FOUND THEN r.outcome := wallet_refusal(p_seller, 0::BIGINT, 0::SMALLINT); RETURN r; END IF;
    INSERT INTO journal VALUES (p_seller, w.last_seq, 10, 105, p_code + 2, p_amount,
      w.available_yen, w.held_yen, w.qmoney_yen, w.pending_yen, 0, p_ref, 0, p_caller);
    r.entry_seq := w.last_seq;

  ELSIF p_type = 10 THEN  -- close (W5): void pending holds, forfeit all Qcash
    PERFORM 1 FROM holds WHERE seller_id = p_seller AND state = 1 FOR UPDATE;  -- lock order
    SELECT * INTO w FROM wallets WHERE seller_id = p_seller FOR UPDATE;
    IF NOT FOUND THEN r.outcome := 3; RETURN r; END IF;
    IF w.state <> 1 THEN r.outcome := 4; RETURN r; END IF;
    seq := w.last_seq;
    rest := w.held_yen;
    FOR h IN UPDATE holds SET state = 5, resolved_at = now()
              WHERE seller_id = p_seller AND state = 1 RETURNING * LOOP
      seq := seq + 1;
      rest := rest - h.amount_yen;
      r.amount_yen := r.amount_yen + h.amount_yen;
      INSERT INTO journal VALUES (p_seller, seq, 11, 2, 104, h.amount_yen,
        w.available_yen, rest, w.qmoney_yen, w.pending_yen, h.product, h.reference, h.hold_id,
        p_caller);
      IF r.entry_seq = 0 THEN r.entry_seq := seq; END IF;
    END LOOP;
    IF rest <> 0 THEN
      RAISE EXCEPTION 'held % of % does not match its pending holds', w.held_yen, p_seller;
    END IF;
    IF w.available_yen > 0 THEN
      seq := seq + 1;
      r.amount_yen := r.amount_yen + w.available_yen;
      INSERT INTO journal VALUES (p_seller, seq, 11, 1, 104, w.available_yen,
        0, 0, w.qmoney_yen, w.pending_yen, 0, p_ref, 0, p_caller);
      IF r.entry_seq = 0 THEN r.entry_seq := seq; END IF;
    END IF;
    UPDATE wallets SET state = 2, closed_at = now(), available_yen = 0, held_yen = 0,
                       version = version + 1, last_seq = seq
     WHERE seller_id = p_seller
     RETURNING * INTO w;

  ELSE
    RAISE EXCEPTION 'unknown operation type %', p_type;
  END IF;

  r.available_yen := w.available_yen;
  r.held_yen := w.held_yen;
  r.qmoney_yen := w.qmoney_yen;
  r.pending_yen := w.pending_yen;
  r.version := w.version;
  r.state := w.state;

  IF p_key <> '' THEN
    -- A concurrent transaction holding the same key makes this raise unique_violation; the
    -- whole batch then rolls back and is retried, and the retry replays the other's result.
    INSERT INTO idempotency_keys VALUES (p_caller, p_key, p_seller, p_type, p_hash, r.entry_seq,
      r.hold_id, r.amount_yen, r.amount2_yen, r.created, r.available_yen, r.held_yen,
      r.qmoney_yen, r.pending_yen, r.version, r.state, r.expires_at);
  END IF;
  RETURN r;
END $$;

-- Applies a batch of operations in order, in the caller's one transaction: one round trip and
-- one WAL flush for all of them (group commit). Returns one result per operation, in order.
CREATE FUNCTION wallet_apply_batch(
  p_type SMALLINT[], p_seller TEXT[], p_caller TEXT[], p_key TEXT[], p_hash TEXT[],
  p_amount BIGINT[], p_code SMALLINT[], p_ref TEXT[], p_hold BIGINT[], p_ttl_s BIGINT[])
RETURNS SETOF wallet_op_result LANGUAGE plpgsql AS $$
DECLARE
  op RECORD;
BEGIN
  FOR op IN SELECT * FROM unnest(p_type, p_seller, p_caller, p_key, p_hash, p_amount, p_code,
                                 p_ref, p_hold, p_ttl_s)
              AS t(type, seller, caller, key, hash, amount, code, ref, hold, ttl) LOOP
    RETURN NEXT wallet_apply_one(op.type, op.seller, op.caller, op.key, op.hash, op.amount,
                                 op.code, op.ref, op.hold, op.ttl);
  END LOOP;
END $$;
