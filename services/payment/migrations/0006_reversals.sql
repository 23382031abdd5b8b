-- Issue 16: reversals after payment (DESIGN.md section 9): a card chargeback, a pay-later
-- default, a refund on the provider's side.
--
-- order_reversals          one row per reversal a provider notified (its id is unique per
--                          provider and seller: the same reversal delivered again finds its row
--                          and changes nothing). The state says how far the wallet's claw-back got:
--                          1 waiting for the order's credit (the reversal came before the paid
--                          notification, or the order was never paid), 2 applying (the wallet
--                          is asked, again and again until it answers: next_attempt_at is the
--                          reconciler's schedule), 3 applied, with what the wallet answered.
-- charge_orders.reversed_yen  what the provider took back of the order so far, the sum of its
--                          reversals, kept in the same statement that records one (under the
--                          order's row lock): at most the order's amount.
ALTER TABLE charge_orders
  ADD COLUMN reversed_yen BIGINT NOT NULL DEFAULT 0
    CHECK (reversed_yen >= 0 AND reversed_yen <= amount_yen);

-- Keyed by (seller_id, ...) like every per-seller table (docs/SCALING.md): a reversal names
-- one payment, so one order and one seller, and its id is unique per provider within the seller
-- as much as anywhere. No foreign key to charge_orders, whose key is order_id alone: a row is
-- only ever written by the statement that holds the order's row lock and copies its seller
-- (store_reversals.cc payment_insert_reversal).
CREATE TABLE order_reversals (
  seller_id        TEXT NOT NULL,
  provider         TEXT NOT NULL,
  reversal_id      TEXT NOT NULL CHECK (length(reversal_id) BETWEEN 1 AND 64),
  order_id         TEXT NOT NULL,
  -- qcash.payment.v1.ReversalKind: 1 chargeback, 2 default, 3 refund
  kind             SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 3),
  amount_yen       BIGINT NOT NULL CHECK (amount_yen > 0),
  -- qcash.payment.v1.ReversalState: 1 waiting for credit, 2 applying, 3 applied
  state            SMALLINT NOT NULL CHECK (state BETWEEN 1 AND 3),
  notification_id  BIGINT,          -- the delivery that recorded it (a plain number, as in
                                    -- order_transitions: notifications are deleted later)
  reversed_at      TIMESTAMPTZ,     -- the provider's time
  received_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  applied_at       TIMESTAMPTZ,
  -- The wallet's answer (ClawBack): taken from available, the rest became the seller's debt.
  clawed_back_yen  BIGINT NOT NULL DEFAULT 0 CHECK (clawed_back_yen >= 0),
  debt_yen         BIGINT NOT NULL DEFAULT 0 CHECK (debt_yen >= 0),
  wallet_entry_seq BIGINT NOT NULL DEFAULT 0,
  -- The reconciler's schedule of an applying reversal; NULL once applied, or while blocked (the
  -- wallet refused for good: an operator must look, the order says why in `attention`).
  next_attempt_at  TIMESTAMPTZ,
  attempts         INT NOT NULL DEFAULT 0,
  last_error       TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (seller_id, provider, reversal_id),
  CHECK (state <> 3 OR (applied_at IS NOT NULL AND next_attempt_at IS NULL
                        AND clawed_back_yen + debt_yen = amount_yen)),
  CHECK (state <> 1 OR next_attempt_at IS NULL)
);
CREATE INDEX order_reversals_by_order ON order_reversals (seller_id, order_id);
-- The reconciler's queue: applying reversals only, and the few waiting for their credit.
CREATE INDEX order_reversals_due ON order_reversals (next_attempt_at) WHERE state = 2;
CREATE INDEX order_reversals_waiting ON order_reversals (order_id) WHERE state = 1;
