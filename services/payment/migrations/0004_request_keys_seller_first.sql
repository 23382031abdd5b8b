-- Issue 13 (docs/SCALING.md): request_keys' primary key leads with seller_id, like every key of
-- a per-seller table, so that the table distributed by seller can enforce it on one shard
-- (tests/schema). The same three columns in another order: the same rows are unique, and the
-- lookup (all three by equality) and the insert (ON CONFLICT DO NOTHING, no target) are
-- unchanged.
ALTER TABLE request_keys
  DROP CONSTRAINT request_keys_pkey,
  ADD CONSTRAINT request_keys_pkey PRIMARY KEY (seller_id, caller, idem_key);
