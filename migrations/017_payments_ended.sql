-- At most one live payment per registration: payments_live (002) was a
-- unique index on registration_id for the live statuses. Because it named
-- status, SQLite deleted and inserted its entry, with the uniqueness probe,
-- at every move of every payment (ELIGIBLE -> BATCHED -> SENT -> PAID),
-- although a payment stops being live only when it is withdrawn (CANCELLED)
-- or replaced (REISSUED): 40% of the cost of moving a batch's payments.
-- Now a column says whether the payment has ended, the CHECK ties it to the
-- status (no write can set one without the other), and the unique index
-- names the column, not the status: the moves leave it alone.
--
-- ADD COLUMN tests the CHECK against every row, with the default (0) in
-- the new column. So the ended payments pass through a live status first,
-- with the unique index dropped, and get their status back with ended = 1.
-- All of it runs in the migration's one transaction: no one sees the
-- passing status.
DROP INDEX payments_live;
CREATE TEMP TABLE ended_payments AS SELECT id, status FROM payments WHERE status IN ('CANCELLED', 'REISSUED');
UPDATE payments SET status = 'RETURNED' WHERE id IN (SELECT id FROM temp.ended_payments);
ALTER TABLE payments ADD COLUMN ended INTEGER NOT NULL DEFAULT 0
    CHECK (ended = (status IN ('CANCELLED', 'REISSUED')));
UPDATE payments SET status = e.status, ended = 1 FROM temp.ended_payments e WHERE payments.id = e.id;
DROP TABLE temp.ended_payments;
CREATE UNIQUE INDEX payments_live ON payments(registration_id) WHERE ended = 0;
