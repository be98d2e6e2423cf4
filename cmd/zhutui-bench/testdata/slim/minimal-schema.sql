-- Session 27's measurement of slimmer schemas for issue 6 (not used by zhutui or
-- its tests; README.md "Performance" and session 27's note give the figures).
-- Run by hand, alternated with the floor of rules 1-19 (make bench prints it):
--   sqlite3 minimal.db < minimal-schema.sql
--   sed 's#DATA#/path/to/data-1000000#' minimal-night.sql | sqlite3 -bail minimal.db
-- minimal: no versions (the input files as the record), one row per registration with its current fields and decision, one per certificate, payments and postings as in slim.
PRAGMA page_size = 16384;
PRAGMA journal_mode = WAL;
CREATE TABLE files (id INTEGER PRIMARY KEY, kind TEXT, name TEXT, sha256 TEXT, size INTEGER, taken_at TEXT);
-- the current row of each key only (no versions; the files themselves kept as the input's record)
CREATE TABLE certificates (id INTEGER PRIMARY KEY, cert_key TEXT NOT NULL UNIQUE, updated_at TEXT, file_id INTEGER, line INTEGER,
  number TEXT, id_number TEXT, name TEXT, occupation TEXT, level TEXT, issue_date TEXT, authority_code TEXT, authority_name TEXT, status TEXT);
CREATE TABLE registrations (id INTEGER PRIMARY KEY, registration_id TEXT NOT NULL UNIQUE, updated_at TEXT, file_id INTEGER, line INTEGER,
  submitted_at TEXT, name TEXT, id_number TEXT, card_number TEXT, mobile TEXT, certificate_number TEXT, occupation TEXT, level TEXT,
  issue_date TEXT, station TEXT, verification TEXT, verified_at TEXT, verified_by TEXT,
  cert_key TEXT, person_key TEXT, status TEXT, reasons TEXT, amount_fen INTEGER, decided_run INTEGER);
CREATE INDEX registrations_cert ON registrations (cert_key);
CREATE INDEX registrations_person ON registrations (person_key);
CREATE TABLE payments (id INTEGER PRIMARY KEY, registration_id TEXT NOT NULL, attempt INTEGER, payment_ref TEXT, amount_fen INTEGER,
  status TEXT, batch_id TEXT, seq INTEGER, created_run INTEGER, UNIQUE (registration_id, attempt));
CREATE INDEX payments_batch ON payments (batch_id, seq);
CREATE TABLE batches (id TEXT PRIMARY KEY, status TEXT, count INTEGER, total_fen INTEGER, file_sha256 TEXT, created_run INTEGER);
CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY, at TEXT, run_id INTEGER, movement TEXT, payment_ref TEXT, debit TEXT, credit TEXT,
  amount_fen INTEGER, batch_id TEXT, hash TEXT);
