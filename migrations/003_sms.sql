-- SMS notices: one per payment that became PAID or RETURNED, recorded in the
-- transaction that took the bank's result file, so none is ever built twice
-- (message_id is unique forever). The notify stage groups those not yet in a
-- file into ZTSMS_<batch_id>_<n>.csv files and delivers them.
CREATE TABLE sms_files (
    name         TEXT PRIMARY KEY,       -- ZTSMS_<batch_id>_<n>.csv
    batch_id     TEXT NOT NULL,
    n            INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    created_run  INTEGER NOT NULL,
    delivered_at TEXT NOT NULL DEFAULT '',
    UNIQUE (batch_id, n)
);

CREATE TABLE messages (
    message_id  TEXT PRIMARY KEY,        -- <payment_ref>-paid or <payment_ref>-returned
    payment_ref TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('paid', 'returned')),
    mobile      TEXT NOT NULL,           -- '' when the registration has no valid mobile: listed in the report instead
    name        TEXT NOT NULL,
    card_last4  TEXT NOT NULL,
    amount_fen  INTEGER NOT NULL,
    bank_message TEXT NOT NULL,
    sms_file    TEXT REFERENCES sms_files(name),
    seq         INTEGER,
    content     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX messages_unfiled ON messages(batch_id) WHERE sms_file IS NULL AND mobile != '';
CREATE INDEX messages_file ON messages(sms_file, seq);
