-- The records floor (make bench): the sqlite3 shell writing, in zhutui's own
-- schema (indexes and triggers included), the rows a first night keeps -- file
-- versions and current pointers, a decision per registration (rules 6-16 as in
-- the bare floor's join), a payment, a batch line and three ledger postings per
-- eligible one -- each once, already in its final state, with no Go, no HMAC
-- (a random hash of the same size), no first-come rules, no payment files and
-- no report. DATA is replaced by the data folder.
-- The same settings as zhutui's connections (the database is in WAL mode
-- since zhutui init): synchronous NORMAL, a 64 MiB page cache.
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -65536;
.mode csv
.import --schema temp DATA/registrations.csv regs
.import --schema temp DATA/certificates.csv certs
BEGIN;
INSERT INTO runs (id, business_date, trigger, started_at) VALUES (1, '2015-01-10', 'manual', '2015-01-10 02:00:00');
INSERT INTO files (id, kind, location, name, sha256, size, outcome, run_id, taken_at) VALUES
  (1, 'certificates', 'file:///inbox', 'certificates.csv', 'c', 0, 'taken', 1, '2015-01-10 02:00:00'),
  (2, 'registrations', 'file:///inbox', 'registrations.csv', 'r', 0, 'taken', 1, '2015-01-10 02:00:00');
INSERT INTO certificate_versions (cert_key, updated_at, file_id, line, number, id_number, name, occupation, level,
  issue_date, authority_code, authority_name, status)
SELECT upper(trim(certificate_number)), updated_at, 1, rowid + 1, certificate_number, id_number, name, occupation, level,
  issue_date, authority_code, authority_name, status FROM temp.certs;
INSERT INTO certificates (cert_key, version_id, updated_at) SELECT cert_key, id, updated_at FROM certificate_versions;
INSERT INTO registration_versions (registration_id, updated_at, file_id, line, submitted_at, name, id_number,
  card_number, mobile, certificate_number, occupation, level, issue_date, station, verification, verified_at,
  verified_by, cert_key)
SELECT registration_id, updated_at, 2, rowid + 1, submitted_at, name, id_number, card_number, mobile,
  certificate_number, occupation, level, issue_date, station, verification, verified_at, verified_by,
  upper(trim(certificate_number)) FROM temp.regs;
INSERT INTO registrations (registration_id, version_id, updated_at, cert_key)
SELECT registration_id, id, updated_at, cert_key FROM registration_versions;
INSERT INTO decisions (registration_id, version_id, cert_version_id, base_status, base_reasons, findings, cert_key,
  person_key, submitted_at, level, amount_fen, station, status, reasons, decided_run, changed_run)
SELECT registration_id, version_id, cert_version_id, status, reasons, '[]', cert_key, person_key, submitted_at, level,
  CASE WHEN status = 'ELIGIBLE' THEN CASE level WHEN 1 THEN 200000 ELSE 100000 END END, station, status, reasons, 1, 1
FROM (SELECT r.registration_id, v.id AS version_id, cv.id AS cert_version_id, r.cert_key,
  upper(trim(v.id_number)) || '|' || v.level AS person_key, v.submitted_at, v.level, v.station,
  CASE WHEN v.verification = 'rejected' THEN 'STATION_REJECTED'
       WHEN v.verification = 'pending' THEN 'PENDING_VERIFICATION'
       WHEN cv.id IS NULL THEN 'PENDING_CERTIFICATE'
       WHEN cv.status = 'revoked' THEN 'CERT_REVOKED'
       WHEN upper(trim(cv.id_number)) != upper(trim(v.id_number)) THEN 'ID_MISMATCH'
       WHEN trim(cv.name) != trim(v.name) THEN 'NAME_MISMATCH'
       WHEN replace(cv.occupation, ' ', '') != replace(v.occupation, ' ', '') THEN 'OCCUPATION_MISMATCH'
       WHEN cv.level != v.level THEN 'LEVEL_MISMATCH'
       WHEN cv.issue_date != v.issue_date THEN 'ISSUE_DATE_MISMATCH'
       WHEN cv.authority_code NOT LIKE '11%' THEN 'AUTHORITY_NOT_ELIGIBLE'
       WHEN cv.level NOT IN (1, 2) THEN 'LEVEL_NOT_COVERED'
       WHEN cv.issue_date < '2013-10-01' THEN 'ISSUED_BEFORE_START'
       ELSE 'ELIGIBLE' END AS status, '' AS reasons
  FROM registrations r JOIN registration_versions v ON v.id = r.version_id
  LEFT JOIN certificates c ON c.cert_key = r.cert_key LEFT JOIN certificate_versions cv ON cv.id = c.version_id);
INSERT INTO payments (registration_id, attempt, payment_ref, amount_fen, level, status, batch_id, created_run, changed_run)
SELECT registration_id, 1, registration_id || '-1', amount_fen, level, 'SENT',
  printf('B20150110%02d', (row_number() OVER (ORDER BY submitted_at, registration_id) - 1) / 10000 + 1), 1, 1
FROM decisions WHERE status = 'ELIGIBLE' ORDER BY registration_id;
INSERT INTO batches (id, business_date, payer_account, memo, status, count, total_fen, file_sha256, created_by, created_at, created_run)
SELECT batch_id, '2015-01-10', '0200001009000012345', '', 'SENT', count(*), sum(amount_fen), '', 'system', '2015-01-10 02:00:00', 1
FROM payments GROUP BY batch_id;
INSERT INTO batch_lines (batch_id, seq, payment_id, payment_ref, card_number, name, mobile, amount_fen)
SELECT p.batch_id, row_number() OVER (PARTITION BY p.batch_id ORDER BY p.id), p.id, p.payment_ref, v.card_number, v.name,
  v.mobile, p.amount_fen
FROM payments p JOIN decisions d ON d.registration_id = p.registration_id JOIN registration_versions v ON v.id = d.version_id;
INSERT INTO ledger_entries (at, run_id, movement, payment_ref, debit, credit, amount_fen, batch_id, memo, hash)
WITH m(ord, movement, debit, credit) AS (VALUES (1, 'decide', 'eligible', 'programme'), (2, 'batch', 'batched', 'eligible'),
  (3, 'send', 'sent', 'batched'))
SELECT '2015-01-10 02:00:00', 1, m.movement, p.payment_ref, m.debit, m.credit, p.amount_fen,
  CASE m.movement WHEN 'decide' THEN '' ELSE p.batch_id END, '', hex(randomblob(32))
FROM m CROSS JOIN payments p ORDER BY m.ord, p.batch_id, p.id;
COMMIT;
SELECT count(*) FROM ledger_entries;
