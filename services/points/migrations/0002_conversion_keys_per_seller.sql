-- Issue 10: ConvertPoints' idempotency keys were unique per caller across all sellers. Through
-- the gateway every seller calls as the same caller, so one seller's key collided with
-- another's: the second seller was refused (IDEMPOTENCY_KEY_REUSED) for a key it had never
-- used. Keys are now scoped per seller and caller, seller first like every per-seller key
-- (DESIGN.md 3: keyed by seller so that the data can be sharded by seller). The old index
-- (caller, idem_key) implies the new one, so existing rows satisfy it.
CREATE UNIQUE INDEX conversions_by_seller_key ON conversions (seller_id, caller, idem_key);
DROP INDEX conversions_by_key;
