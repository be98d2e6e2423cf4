-- Two indexes a first night wrote for every payment and read little:
-- ledger_batch (every batch and send posting) is read by nothing since
-- ledger_batch_moves (010) took over the per-batch ledger totals; and
-- payments_batch held an entry for every payment not in a batch (a NULL
-- batch), which no query looks for: every lookup is by a batch or of all
-- batched payments, which the partial index answers.
DROP INDEX ledger_batch;
DROP INDEX payments_batch;
CREATE INDEX payments_batch ON payments(batch_id) WHERE batch_id IS NOT NULL;
