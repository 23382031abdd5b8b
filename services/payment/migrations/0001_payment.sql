-- The payment service's own database (DESIGN.md section 2: no service reads another's tables).
--
-- charge_orders        one row per charge voucher order, its state (P5) and the reconciler's
--                      schedule; the idempotency key of its creation is part of the row, so
--                      the order and the key are one write.
-- order_transitions    every move of every order: who, when, why (append-only).
-- provider_notifications  every notification received, accepted or rejected (P7).
-- qsign_credentials    the Q-sign password hash and its wrong-attempt counter (P3).
-- request_keys         idempotency keys of the other mutating calls (cancel, retry, password).

CREATE TABLE charge_orders (
  order_id            TEXT PRIMARY KEY,
  seller_id           TEXT NOT NULL,
  caller              TEXT NOT NULL,
  idempotency_key     TEXT NOT NULL,
  request_hash        TEXT NOT NULL,
  -- W2: the twelve denominations; price in yen = Qcash credited.
  amount_yen          BIGINT NOT NULL CHECK (amount_yen IN (100, 500, 1000, 3000, 5000, 10000,
                                             30000, 50000, 100000, 300000, 500000, 1000000)),
  method              SMALLINT NOT NULL CHECK (method BETWEEN 1 AND 11),  -- P1
  family              SMALLINT NOT NULL CHECK (family BETWEEN 1 AND 4),   -- P2
  provider            TEXT NOT NULL,  -- '' for internal funds
  -- P5: 1 created, 2 awaiting payment, 3 paid, 4 credited, 5 failed, 6 expired, 7 cancelled
  state               SMALLINT NOT NULL CHECK (state BETWEEN 1 AND 7),
  provider_payment_id TEXT NOT NULL DEFAULT '',
  redirect_url        TEXT NOT NULL DEFAULT '',
  instructions        JSONB,
  failure_reason      TEXT NOT NULL DEFAULT '',
  attention           TEXT NOT NULL DEFAULT '',
  created_at          TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  updated_at          TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  deadline            TIMESTAMPTZ NOT NULL,
  paid_at             TIMESTAMPTZ,
  credited_at         TIMESTAMPTZ,
  wallet_entry_seq    BIGINT NOT NULL DEFAULT 0,
  transition_count    INT NOT NULL DEFAULT 1,  -- seq of the newest order_transitions row
  -- The reconciler's schedule: when to look at the order next (credit a paid order, finish
  -- an internal-funds charge, ask the provider, expire). NULL once the order is final.
  next_attempt_at     TIMESTAMPTZ,
  attempts            INT NOT NULL DEFAULT 0,
  credit_blocked      BOOLEAN NOT NULL DEFAULT false,  -- the wallet refused for good
  credit_error        TEXT NOT NULL DEFAULT '',
  UNIQUE (seller_id, caller, idempotency_key),
  -- P5 as constraints, the second guard behind the state machine in order.cc:
  CHECK (state NOT IN (3, 4) OR paid_at IS NOT NULL OR family = 4),
  CHECK (state <> 4 OR (credited_at IS NOT NULL AND wallet_entry_seq > 0)),
  CHECK (state NOT IN (4, 5, 6, 7) OR next_attempt_at IS NULL)
);
-- P6: a seller's purchase history, newest first, with a stable cursor.
CREATE INDEX charge_orders_history ON charge_orders (seller_id, created_at DESC, order_id DESC);
-- The reconciler's queue: only orders that are not final.
CREATE INDEX charge_orders_due ON charge_orders (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

CREATE TABLE order_transitions (
  order_id        TEXT NOT NULL REFERENCES charge_orders (order_id),
  seq             INT NOT NULL,  -- 1, 2, 3, ... per order
  seller_id       TEXT NOT NULL,
  from_state      SMALLINT,      -- NULL for the creation
  to_state        SMALLINT NOT NULL CHECK (to_state BETWEEN 1 AND 7),
  actor           TEXT NOT NULL,  -- gateway, ops, provider:<name>, reconciler
  reason          TEXT NOT NULL,
  notification_id BIGINT,
  at              TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (order_id, seq)
);

CREATE FUNCTION payment_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TRIGGER order_transitions_no_update BEFORE UPDATE OR DELETE ON order_transitions
  FOR EACH ROW EXECUTE FUNCTION payment_append_only();

-- P7. Outcome: 1 applied, 2 accepted without effect (the order was already past it),
-- 3 rejected (bad signature, stale, unknown order, mismatch; never applied). Only accepted
-- events take part in deduplication: a forged notification must not be able to claim an
-- event id before the real one arrives.
CREATE TABLE provider_notifications (
  notification_id   BIGSERIAL PRIMARY KEY,
  provider          TEXT NOT NULL,
  event_id          TEXT,
  order_id          TEXT,
  provider_status   TEXT NOT NULL DEFAULT '',
  amount_yen        BIGINT,
  outcome           SMALLINT NOT NULL CHECK (outcome IN (1, 2, 3)),
  reject_reason     TEXT NOT NULL DEFAULT '',
  signed_at         TIMESTAMPTZ,
  received_at       TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  deliveries        INT NOT NULL DEFAULT 1,
  last_delivered_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  body              BYTEA NOT NULL,  -- raw; rejected ones truncated to 4 KiB
  CHECK (outcome = 3 OR (event_id IS NOT NULL AND order_id IS NOT NULL))
);
CREATE UNIQUE INDEX provider_notifications_dedupe ON provider_notifications (provider, event_id)
  WHERE outcome IN (1, 2);
CREATE INDEX provider_notifications_by_order ON provider_notifications (order_id);

-- P3: only the argon2id hash string (salt and parameters inside) is stored.
CREATE TABLE qsign_credentials (
  seller_id       TEXT PRIMARY KEY,
  password_hash   TEXT NOT NULL,
  failed_attempts INT NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
  locked_until    TIMESTAMPTZ,
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE request_keys (
  caller       TEXT NOT NULL,
  seller_id    TEXT NOT NULL,
  idem_key     TEXT NOT NULL,
  rpc          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  order_id     TEXT NOT NULL DEFAULT '',
  recorded_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (caller, seller_id, idem_key)
);
