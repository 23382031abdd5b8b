-- Issue 10 (trust boundaries, DESIGN.md section 7).
--
-- qsign_credentials: argon2id now runs with no transaction open and no connection held, so the
-- update that follows a hash is guarded by `version` (bumped by every change of the row); a
-- change made meanwhile is re-read and the rule applied again. `lockouts` counts the streak of
-- lockouts that escalates the lock (P3: 30 min, 1 h, 2 h, ... at most 24 h), and
-- locked_until now keeps the end of the latest lock after it has passed, to date the streak.
ALTER TABLE qsign_credentials
  ADD COLUMN version BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN lockouts INT NOT NULL DEFAULT 0 CHECK (lockouts >= 0);

-- The per-seller limit on setting and checking the Q-sign password (P3): a fixed window per
-- seller, counted before any hash is computed. One row per seller who ever tried (sellers are
-- authenticated: the table grows with sellers, not with requests).
CREATE TABLE qsign_throttle (
  seller_id    TEXT PRIMARY KEY,
  window_start TIMESTAMPTZ NOT NULL,
  checks       INT NOT NULL CHECK (checks >= 0)
);

-- P7: rejected notifications are no longer stored (they are counted in metrics and sampled in
-- the log: an unauthenticated request costs no database write). Stored ones are deleted after
-- the retention by age, oldest first; nothing references this table by a foreign key
-- (order_transitions.notification_id is a plain historical number).
CREATE INDEX provider_notifications_received ON provider_notifications (received_at);
