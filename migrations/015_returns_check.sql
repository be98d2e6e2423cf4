-- A returned payment is paid again once its registration brings another
-- card number or name (syncPayments). The nightly check looks only at what
-- could have changed: payments returned since the last check (their return
-- postings, found by this small index) and registrations judged or changed
-- in the run. The second holds what that filter reads of the payments
-- waiting, so one it leaves out is never read from the table.
CREATE INDEX ledger_returns ON ledger_entries(seq) WHERE movement = 'return';
CREATE INDEX payments_returned ON payments(registration_id, payment_ref) WHERE status = 'RETURNED';
