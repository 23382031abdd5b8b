-- Issue 15.
--
-- charge_orders.return_url  where to send the seller back after the payment: the accepted,
--                           normalized return link of an order made from an ad application
--                           (services/payment/return_link.h); '' for the others.
-- receipt_issues            how often each paid order's receipt (領収書) was issued: the first
--                           issue is the original, every later one a reissue (再発行), which the
--                           document says. One row per order, created by the first issue and
--                           counted up by each later one in the same statement.
ALTER TABLE charge_orders
  ADD COLUMN return_url TEXT NOT NULL DEFAULT '' CHECK (length(return_url) <= 2048);

-- Keyed by (seller_id, order_id) like every per-seller table (docs/SCALING.md). No foreign key
-- to charge_orders, whose key is order_id alone: the row is only ever written by the statement
-- that reads the seller's paid order (store.cc payment_issue_receipt).
CREATE TABLE receipt_issues (
  seller_id       TEXT NOT NULL,
  order_id        TEXT NOT NULL,
  issues          INT NOT NULL DEFAULT 1 CHECK (issues >= 1),
  first_issued_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  last_issued_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (seller_id, order_id)
);
