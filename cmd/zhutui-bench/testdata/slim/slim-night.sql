-- Session 27's measurement of slimmer schemas for issue 6 (not used by zhutui or
-- its tests; README.md "Performance" and session 27's note give the figures).
-- Run by hand, alternated with the floor of rules 1-19 (make bench prints it):
--   sqlite3 slim.db < slim-schema.sql
--   sed 's#DATA#/path/to/data-1000000#' slim-night.sql | sqlite3 -bail slim.db
-- slim: both files' versions kept, one row per registration holding its pointer and decision, no history row for a first decision, a payment its own batch line, one posting per payment (decide) and one per batch (batch, send).
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -65536;
.timer on
.mode csv
.import --schema temp DATA/registrations.csv regs
.import --schema temp DATA/certificates.csv certs
BEGIN;
INSERT INTO files VALUES (1, 'certificates', 'certificates.csv', 'c', 0, '2015-01-10 02:00:00'), (2, 'registrations', 'registrations.csv', 'r', 0, '2015-01-10 02:00:00');
INSERT INTO certificate_versions (cert_key, updated_at, file_id, line, number, id_number, name, occupation, level, issue_date, authority_code, authority_name, status)
SELECT upper(trim(certificate_number)), updated_at, 1, rowid + 1, certificate_number, id_number, name, occupation, level,
  issue_date, authority_code, authority_name, status FROM temp.certs;
INSERT INTO registration_versions (registration_id, updated_at, file_id, line, submitted_at, name, id_number,
  card_number, mobile, certificate_number, occupation, level, issue_date, station, verification, verified_at, verified_by)
SELECT registration_id, updated_at, 2, rowid + 1, submitted_at, name, id_number, card_number, mobile,
  certificate_number, occupation, level, issue_date, station, verification, verified_at, verified_by FROM temp.regs;
INSERT INTO registrations
SELECT registration_id, version_id, cert_version_id, cert_key, person_key, submitted_at, level, station, status, reasons,
  CASE WHEN status = 'ELIGIBLE' THEN CASE level WHEN 1 THEN 200000 ELSE 100000 END END, 1
FROM (SELECT v.registration_id, v.id AS version_id, cv.id AS cert_version_id, upper(trim(v.certificate_number)) AS cert_key,
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
  FROM registration_versions v LEFT JOIN certificate_versions cv ON cv.cert_key = upper(trim(v.certificate_number)))
ORDER BY registration_id;
INSERT INTO payments (registration_id, attempt, payment_ref, amount_fen, status, batch_id, seq, created_run)
SELECT registration_id, 1, registration_id || '-1', amount_fen, 'SENT',
  printf('B20150110%02d', (n - 1) / 10000 + 1), (n - 1) % 10000 + 1, 1
FROM (SELECT registration_id, amount_fen, row_number() OVER (ORDER BY submitted_at, registration_id) AS n FROM registrations WHERE status = 'ELIGIBLE') ORDER BY n;
INSERT INTO batches SELECT batch_id, 'SENT', count(*), sum(amount_fen), '', 1 FROM payments GROUP BY batch_id;
INSERT INTO ledger_entries (at, run_id, movement, payment_ref, debit, credit, amount_fen, batch_id, hash)
SELECT '2015-01-10 02:00:00', 1, 'decide', payment_ref, 'eligible', 'programme', amount_fen, '', hex(randomblob(32)) FROM payments ORDER BY id;
INSERT INTO ledger_entries (at, run_id, movement, payment_ref, debit, credit, amount_fen, batch_id, hash)
SELECT '2015-01-10 02:00:00', 1, m.movement, '', m.debit, m.credit, b.total_fen, b.id, hex(randomblob(32))
FROM (SELECT 'batch' AS movement, 'batched' AS debit, 'eligible' AS credit UNION ALL SELECT 'send', 'sent', 'batched') AS m CROSS JOIN batches b;
COMMIT;
SELECT count(*) FROM ledger_entries;
SELECT status, count(*) FROM registrations GROUP BY status;
