-- Service points (DESIGN.md S1-S5) and their conversions into Qcash.
--
-- Times are instants (timestamptz). Which JST month or day an instant belongs to is decided by
-- the service with Abseil's time zones (services/points/calendar.h), never by the database's
-- time zone setting: queries pass instant ranges.

-- S1: every scoring event from the upstream systems, as received. Append-only.
-- The key is (caller, event_id): an event id is unique per upstream caller across all sellers,
-- so a replay is recognised wherever it comes from. The per-seller index serves every query;
-- in a deployment sharded by seller this key becomes a global unique index (or the event id
-- gains a seller prefix upstream).
CREATE TABLE point_events (
  caller       TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  seller_id    TEXT NOT NULL,
  product_no   TEXT NOT NULL,
  product_name TEXT NOT NULL,
  category     TEXT NOT NULL,
  component    SMALLINT NOT NULL CHECK (component IN (1, 2, 3)),  -- shipping, claim, review
  sale_type    SMALLINT NOT NULL CHECK (sale_type IN (1, 2)),     -- general, reservation
  points       BIGINT NOT NULL CHECK (points <> 0 AND points BETWEEN -1000000 AND 1000000),
  occurred_at  TIMESTAMPTZ NOT NULL,
  request_hash TEXT NOT NULL,  -- tells a replay (same content) from a reused id
  recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (caller, event_id)
);
CREATE INDEX point_events_by_seller_time ON point_events (seller_id, occurred_at);
CREATE INDEX point_events_by_seller_product ON point_events (seller_id, product_no, occurred_at);

CREATE FUNCTION point_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'point events are append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER point_events_no_update BEFORE UPDATE OR DELETE ON point_events
  FOR EACH ROW EXECUTE FUNCTION point_events_append_only();
CREATE TRIGGER point_events_no_truncate BEFORE TRUNCATE ON point_events
  FOR EACH STATEMENT EXECUTE FUNCTION point_events_append_only();

-- S3: one row per seller and converted month; the primary key is the guard that a month is
-- converted at most once. The row is written as an intent (state 1, pending) BEFORE the wallet
-- is called and completed (state 2) after the wallet confirmed the credit; a pending row left
-- by a crash is completed by the service's background step, which calls the wallet again with
-- the same wallet_key (the wallet applies a key once). state 3: the wallet refused (nothing
-- credited); the conversion may be requested again within its window, with the same amount.
CREATE TABLE conversions (
  seller_id          TEXT NOT NULL,
  points_month       INTEGER NOT NULL CHECK (points_month % 100 BETWEEN 1 AND 12),  -- 202401
  conversion_id      TEXT NOT NULL UNIQUE,
  state              SMALLINT NOT NULL CHECK (state IN (1, 2, 3)),
  month_total_points BIGINT NOT NULL CHECK (month_total_points >= 100),
  -- Second guard of S3 behind the domain: whole hundreds, the leftover under 100.
  converted_points   BIGINT NOT NULL
    CHECK (converted_points > 0 AND converted_points % 100 = 0
           AND converted_points <= month_total_points
           AND month_total_points - converted_points < 100),
  wallet_key         TEXT NOT NULL UNIQUE,
  caller             TEXT NOT NULL,
  idem_key           TEXT NOT NULL,
  request_hash       TEXT NOT NULL,
  requested_at       TIMESTAMPTZ NOT NULL,  -- the service's clock, inside the window
  wallet_entry_seq   BIGINT NOT NULL DEFAULT 0,
  failure_reason     TEXT NOT NULL DEFAULT '',
  attempts           INTEGER NOT NULL DEFAULT 0,  -- wallet calls started
  -- While set and in the future, some process is calling the wallet for this row; others
  -- leave it alone. An expired lease (a crash) lets the background step take over.
  lease_until        TIMESTAMPTZ,
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  completed_at       TIMESTAMPTZ,
  PRIMARY KEY (seller_id, points_month),
  CHECK (state <> 2 OR wallet_entry_seq > 0)
);
-- The durable record of ConvertPoints' idempotency keys (scoped per caller).
CREATE UNIQUE INDEX conversions_by_key ON conversions (caller, idem_key);
CREATE INDEX conversions_pending ON conversions (updated_at) WHERE state = 1;
