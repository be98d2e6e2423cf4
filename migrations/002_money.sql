-- Money: payments, batches and the append-only, hash-chained ledger.

-- One row per attempt to pay a registration. A registration has at most one
-- live payment (ELIGIBLE, BATCHED, SENT, PAID or RETURNED); CANCELLED ones
-- stopped being payable before a batch, REISSUED ones were returned and
-- replaced by the next attempt.
CREATE TABLE payments (
    id              INTEGER PRIMARY KEY,
    registration_id TEXT NOT NULL,
    attempt         INTEGER NOT NULL CHECK (attempt >= 1),
    payment_ref     TEXT NOT NULL UNIQUE,  -- <registration_id>-<attempt>
    amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
    level           INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('ELIGIBLE', 'BATCHED', 'SENT', 'PAID', 'RETURNED', 'CANCELLED', 'REISSUED')),
    batch_id        TEXT REFERENCES batches(id),
    bank_code       TEXT NOT NULL DEFAULT '',
    bank_message    TEXT NOT NULL DEFAULT '',
    created_run     INTEGER NOT NULL,
    changed_run     INTEGER NOT NULL,
    UNIQUE (registration_id, attempt)
);
CREATE UNIQUE INDEX payments_live ON payments(registration_id)
    WHERE status IN ('ELIGIBLE', 'BATCHED', 'SENT', 'PAID', 'RETURNED');
CREATE INDEX payments_status ON payments(status);
CREATE INDEX payments_batch ON payments(batch_id);
CREATE INDEX payments_changed ON payments(changed_run);

CREATE TABLE batches (
    id            TEXT PRIMARY KEY,        -- B<YYYYMMDD><nn>
    business_date TEXT NOT NULL,
    payer_account TEXT NOT NULL,
    memo          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('AWAITING_APPROVAL', 'APPROVED', 'REJECTED', 'SENT', 'SETTLED')),
    count         INTEGER NOT NULL,
    total_fen     INTEGER NOT NULL,
    file_sha256   TEXT NOT NULL,           -- of the payment file, fixed at creation
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_run   INTEGER,
    approved_by   TEXT NOT NULL DEFAULT '',
    approved_at   TEXT NOT NULL DEFAULT '',
    sent_at       TEXT NOT NULL DEFAULT '',
    settled_fen   INTEGER,                 -- the bank's confirmed total
    returned_fen  INTEGER
);

-- The lines of a batch as created: the payment file renders from these, so a
-- batch renders to the same bytes forever.
CREATE TABLE batch_lines (
    batch_id    TEXT NOT NULL REFERENCES batches(id),
    seq         INTEGER NOT NULL,
    payment_id  INTEGER NOT NULL REFERENCES payments(id),
    payment_ref TEXT NOT NULL,
    card_number TEXT NOT NULL,
    name        TEXT NOT NULL,
    mobile      TEXT NOT NULL,
    amount_fen  INTEGER NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (batch_id, seq)
) WITHOUT ROWID;
CREATE INDEX batch_lines_payment ON batch_lines(payment_id);

-- Who did what to a batch, and why.
CREATE TABLE batch_events (
    batch_id TEXT NOT NULL REFERENCES batches(id),
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX batch_events_batch ON batch_events(batch_id);

-- The ledger: one balanced posting per movement of one payment's money,
-- chained by HMAC-SHA-256 (pipeline.Chain) under a key kept outside the
-- database: each hash covers the previous entry's hash and this entry's
-- fields. Nothing may change or remove an entry.
CREATE TABLE ledger_entries (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    run_id      INTEGER NOT NULL,
    movement    TEXT NOT NULL,
    payment_ref TEXT NOT NULL,
    debit       TEXT NOT NULL,
    credit      TEXT NOT NULL,
    amount_fen  INTEGER NOT NULL,
    batch_id    TEXT NOT NULL,
    memo        TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX ledger_batch ON ledger_entries(batch_id) WHERE batch_id != '';
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;

-- Registrations to judge again at the next reconcile although neither they
-- nor their certificate changed (their batch was rejected: they no longer
-- hold a place).
CREATE TABLE rejudge (
    registration_id TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Every file delivered to an outbound location (payment files, their
-- sidecars, SMS batches): what was put where, when.
CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,           -- payment, sidecar, sms
    batch_id     TEXT NOT NULL,
    location     TEXT NOT NULL,
    name         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    delivered_at TEXT NOT NULL,
    run_id       INTEGER NOT NULL,
    already      INTEGER NOT NULL DEFAULT 0, -- the same bytes were found there already
    UNIQUE (location, name)
);

CREATE INDEX decisions_payable ON decisions(registration_id) WHERE status = 'ELIGIBLE' AND held = 0;
