-- Session 27's measurement of slimmer schemas for issue 6 (not used by zhutui or
-- its tests; README.md "Performance" and session 27's note give the figures).
-- Run by hand, alternated with the floor of rules 1-19 (make bench prints it):
--   sqlite3 slim.db < slim-schema.sql
--   sed 's#DATA#/path/to/data-1000000#' slim-night.sql | sqlite3 -bail slim.db
-- slim: both files' versions kept, one row per registration holding its pointer and decision, no history row for a first decision, a payment its own batch line, one posting per payment (decide) and one per batch (batch, send).
PRAGMA page_size = 16384;
PRAGMA journal_mode = WAL;
CREATE TABLE files (id INTEGER PRIMARY KEY, kind TEXT, name TEXT, sha256 TEXT, size INTEGER, taken_at TEXT);
-- every row taken, as it came (the input's audit record); the current one of a key is the newest
CREATE TABLE certificate_versions (id INTEGER PRIMARY KEY, cert_key TEXT NOT NULL, updated_at TEXT, file_id INTEGER, line INTEGER,
  number TEXT, id_number TEXT, name TEXT, occupation TEXT, level TEXT, issue_date TEXT, authority_code TEXT, authority_name TEXT, status TEXT);
CREATE INDEX certificate_versions_key ON certificate_versions (cert_key, updated_at);
CREATE TABLE registration_versions (id INTEGER PRIMARY KEY, registration_id TEXT NOT NULL, updated_at TEXT, file_id INTEGER, line INTEGER,
  submitted_at TEXT, name TEXT, id_number TEXT, card_number TEXT, mobile TEXT, certificate_number TEXT, occupation TEXT, level TEXT,
  issue_date TEXT, station TEXT, verification TEXT, verified_at TEXT, verified_by TEXT);
-- a registration: its current version and its decision in one row (history only when a decision changes)
CREATE TABLE registrations (registration_id TEXT PRIMARY KEY, version_id INTEGER NOT NULL, cert_version_id INTEGER, cert_key TEXT,
  person_key TEXT, submitted_at TEXT, level INTEGER, station TEXT, status TEXT, reasons TEXT, amount_fen INTEGER, decided_run INTEGER) WITHOUT ROWID;
CREATE INDEX registrations_cert ON registrations (cert_key);
CREATE INDEX registrations_person ON registrations (person_key);
CREATE TABLE decision_history (id INTEGER PRIMARY KEY, registration_id TEXT, status TEXT, reasons TEXT, run_id INTEGER);
-- a payment is its batch line (seq in its batch)
CREATE TABLE payments (id INTEGER PRIMARY KEY, registration_id TEXT NOT NULL, attempt INTEGER, payment_ref TEXT, amount_fen INTEGER,
  status TEXT, batch_id TEXT, seq INTEGER, created_run INTEGER, UNIQUE (registration_id, attempt));
CREATE INDEX payments_batch ON payments (batch_id, seq);
CREATE TABLE batches (id TEXT PRIMARY KEY, status TEXT, count INTEGER, total_fen INTEGER, file_sha256 TEXT, created_run INTEGER);
-- one posting per payment for decide; one per batch for batch and send
CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY, at TEXT, run_id INTEGER, movement TEXT, payment_ref TEXT, debit TEXT, credit TEXT,
  amount_fen INTEGER, batch_id TEXT, hash TEXT);
CREATE INDEX ledger_payment ON ledger_entries (payment_ref);
