-- Checkpoints of the issuer's books (DESIGN.md section 8; docs/LEDGER.md "The issuer's books").
--
-- A checkpoint at instant `at` (a whole JST hour) holds the platform's figures over every
-- journal entry created before `at`: the balance of each account (platform accounts 101-105
-- derived from the journal, seller accounts 1-4 summed over all sellers) and the cumulative
-- Qcash issued, used and forfeited, paid and free. Each is the previous checkpoint plus the
-- journal between the two (a range on the BRIN index journal_time). There is one at the end of
-- every hour that has entries (and one at the newest hour checkpointed), so that figures at
-- any instant cost one checkpoint and at most an hour of journal (services/wallet/books.h).
--
-- A checkpoint is written only once its instant is older than a safety margin (books.h
-- kCheckpointMargin) and older than the start of every open transaction: then no entry dated
-- before it can still commit, and the row never changes. Rows are only ever added.
CREATE TABLE books_checkpoints (
  at                 TIMESTAMPTZ PRIMARY KEY,  -- covers the entries with created_at < at
  entries            BIGINT NOT NULL,
  -- sums over all sellers of the seller accounts
  seller_available   BIGINT NOT NULL,
  seller_held        BIGINT NOT NULL,
  seller_qmoney      BIGINT NOT NULL,
  seller_pending     BIGINT NOT NULL,
  -- platform accounts: credits - debits
  provider_clearing  BIGINT NOT NULL,
  points_programme   BIGINT NOT NULL,
  ad_revenue         BIGINT NOT NULL,
  forfeiture         BIGINT NOT NULL,
  settlement         BIGINT NOT NULL,
  -- cumulative, from the entries that name their lots (journal.paid_yen; free = amount - paid)
  paid_issued        BIGINT NOT NULL,
  paid_used          BIGINT NOT NULL,
  paid_forfeited     BIGINT NOT NULL,
  free_issued        BIGINT NOT NULL,
  free_used          BIGINT NOT NULL,
  free_forfeited     BIGINT NOT NULL,
  -- net Qcash (available + held) moved by entries written before lots existed: counted paid
  before_lots        BIGINT NOT NULL,
  computed_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE FUNCTION books_checkpoints_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'checkpoints are never changed (% refused)', TG_OP;
END $$;
CREATE TRIGGER books_checkpoints_no_update BEFORE UPDATE OR DELETE ON books_checkpoints
  FOR EACH ROW EXECUTE FUNCTION books_checkpoints_keep();
