-- The ledger's balances after the last entry of each transaction that
-- posted, so that a report reads them without summing the whole ledger.
-- Append-only like the entries; `zhutui ledger verify` checks every one
-- against the balances it recomputes.
CREATE TABLE ledger_checkpoints (
    seq       INTEGER PRIMARY KEY REFERENCES ledger_entries(seq),
    hash      TEXT NOT NULL,
    programme INTEGER NOT NULL,
    eligible  INTEGER NOT NULL,
    batched   INTEGER NOT NULL,
    sent      INTEGER NOT NULL,
    paid      INTEGER NOT NULL,
    returned  INTEGER NOT NULL
);
CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'ledger checkpoints are append-only'); END;
CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'ledger checkpoints are append-only'); END;

-- Members without a valid mobile, listed by every report.
CREATE INDEX messages_no_mobile ON messages(message_id) WHERE mobile = '';
DROP INDEX payments_changed;
