-- The reconciler's backlog gauges (qcash_payment_reconciler_backlog and
-- qcash_payment_oldest_uncredited_age_seconds) count PAID orders every pass: keep that an
-- index-only look at the few orders between payment and credit, not a scan of every order.
CREATE INDEX charge_orders_paid ON charge_orders (paid_at) WHERE state = 3;
