-- Issue 16: settlement reconciliation (DESIGN.md section 9).
--
-- settlement_reports     one row per imported file of one provider; the same content again
--                        (same provider, same sha256) is a replay and stores nothing.
-- settlement_lines       every line of every report, as the provider wrote it, with what it
--                        turned out to be (outcome: 0 matched, else the MismatchKind number).
-- settlement_mismatches  what operators must look at, with its age and, once resolved, who,
--                        why and when (kept for ever; resolving is the audited action).
-- settlement_resolutions the audit of every resolution (who, why, when, with which key).
-- settlement_fetches     the days the scheduled importer fetched per provider (also when the
--                        report was a replay), so it never asks for one day twice.
-- charge_orders.settled_at / settled_yen / fee_yen / settlement_tx
--                        set once, by the line that settled the order.
CREATE TABLE settlement_reports (
  report_id      BIGSERIAL PRIMARY KEY,
  provider       TEXT NOT NULL CHECK (length(provider) BETWEEN 1 AND 64),
  file_name      TEXT NOT NULL CHECK (length(file_name) <= 255),
  content_sha256 TEXT NOT NULL CHECK (length(content_sha256) = 64),
  content_bytes  BIGINT NOT NULL CHECK (content_bytes >= 0),
  imported_by    TEXT NOT NULL,
  imported_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  lines          INT NOT NULL CHECK (lines >= 0),
  matched        INT NOT NULL CHECK (matched >= 0 AND matched <= lines),
  mismatches     INT NOT NULL CHECK (mismatches >= 0),
  UNIQUE (provider, content_sha256)
);

CREATE TABLE settlement_lines (
  report_id          BIGINT NOT NULL REFERENCES settlement_reports (report_id),
  line_number        INT NOT NULL CHECK (line_number >= 2),  -- 1 is the header
  provider           TEXT NOT NULL,
  settlement_date    DATE NOT NULL,
  transaction_id     TEXT NOT NULL,
  merchant_reference TEXT NOT NULL,
  amount_yen         BIGINT NOT NULL CHECK (amount_yen > 0),
  fee_yen            BIGINT NOT NULL CHECK (fee_yen >= 0 AND fee_yen <= amount_yen),
  net_yen            BIGINT NOT NULL CHECK (net_yen = amount_yen - fee_yen),
  paid_date          DATE NOT NULL,
  order_id           TEXT,          -- the order it was matched to, if any
  outcome            SMALLINT NOT NULL CHECK (outcome BETWEEN 0 AND 6),
  PRIMARY KEY (report_id, line_number)
);
-- A transaction seen before is a DUPLICATE: found by (provider, transaction).
CREATE INDEX settlement_lines_transaction ON settlement_lines (provider, transaction_id);

CREATE TABLE settlement_mismatches (
  mismatch_id     BIGSERIAL PRIMARY KEY,
  -- MismatchKind: 1 not settled, 2 settled not credited, 3 amount mismatch, 4 unknown
  -- transaction, 5 duplicate, 6 settled late.
  kind            SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 6),
  provider        TEXT NOT NULL,
  transaction_id  TEXT NOT NULL DEFAULT '',
  order_id        TEXT NOT NULL DEFAULT '',
  -- The order's seller, for operators to read. Not a distribution key: mismatches are the
  -- operator's reconciliation records (many name no order, hence no seller), an
  -- operator-wide table like settlement_reports (docs/SCALING.md).
  order_seller_id TEXT NOT NULL DEFAULT '',
  expected_yen    BIGINT NOT NULL DEFAULT 0,
  settled_yen     BIGINT NOT NULL DEFAULT 0,
  fee_yen         BIGINT NOT NULL DEFAULT 0,
  settlement_date DATE,
  report_id       BIGINT REFERENCES settlement_reports (report_id),
  line_number     INT NOT NULL DEFAULT 0,
  since           TIMESTAMPTZ NOT NULL,
  detected_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  resolved_at     TIMESTAMPTZ,
  resolved_by     TEXT NOT NULL DEFAULT '',
  resolution      TEXT NOT NULL DEFAULT '',
  resolution_key  TEXT UNIQUE,  -- the idempotency key of the resolution
  CHECK ((resolved_at IS NULL) = (resolved_by = '')),
  CHECK (kind = 1 OR report_id IS NOT NULL),
  CHECK (kind <> 1 OR order_id <> '')
);
-- The overdue check opens at most one NOT_SETTLED per order, ever.
CREATE UNIQUE INDEX settlement_mismatches_not_settled
  ON settlement_mismatches (order_id) WHERE kind = 1;
-- The operators' list: open ones, oldest first.
CREATE INDEX settlement_mismatches_open
  ON settlement_mismatches (since, mismatch_id) WHERE resolved_at IS NULL;

CREATE TABLE settlement_resolutions (
  mismatch_id    BIGINT NOT NULL REFERENCES settlement_mismatches (mismatch_id),
  resolved_by    TEXT NOT NULL CHECK (length(resolved_by) BETWEEN 1 AND 128),
  resolution     TEXT NOT NULL CHECK (length(resolution) BETWEEN 1 AND 1000),
  caller         TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  resolved_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (mismatch_id)
);

CREATE TABLE settlement_fetches (
  provider        TEXT NOT NULL,
  settlement_date DATE NOT NULL,
  report_id       BIGINT NOT NULL REFERENCES settlement_reports (report_id),
  fetched_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (provider, settlement_date)
);

ALTER TABLE charge_orders
  ADD COLUMN settled_at TIMESTAMPTZ,
  ADD COLUMN settled_yen BIGINT NOT NULL DEFAULT 0 CHECK (settled_yen >= 0),
  ADD COLUMN fee_yen BIGINT NOT NULL DEFAULT 0 CHECK (fee_yen >= 0),
  ADD COLUMN settlement_tx TEXT NOT NULL DEFAULT '',
  ADD CONSTRAINT charge_orders_settled CHECK ((settled_at IS NULL) = (settlement_tx = ''));
-- The overdue check: paid or credited provider orders not settled yet.
CREATE INDEX charge_orders_unsettled ON charge_orders (paid_at)
  WHERE state IN (3, 4) AND provider <> '' AND settled_at IS NULL;
-- A line whose reference is unknown may still name the provider's payment id.
CREATE INDEX charge_orders_provider_payment ON charge_orders (provider, provider_payment_id)
  WHERE provider_payment_id <> '';
