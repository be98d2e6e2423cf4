-- The report's registrations.csv is rebuilt each night from the last one and
-- the registrations whose line may have changed since, so that a night's
-- report costs what the night changed, not every registration ever taken.
-- The triggers note every change of a column a line shows (the decision's,
-- and its payments'), whatever wrote it; they note nothing until a report
-- has written its first state (setting report.journal), so a first night
-- pays only the test. The report consumes the entries it saw, in order.
CREATE TABLE report_changes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: a mark stays a mark
    registration_id TEXT NOT NULL
);
CREATE TRIGGER decisions_report_new AFTER INSERT ON decisions
WHEN (SELECT value FROM settings WHERE name = 'report.journal') = 'on'
BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END;
CREATE TRIGGER decisions_report AFTER UPDATE OF status, reasons, amount_fen, level, station ON decisions
WHEN (SELECT value FROM settings WHERE name = 'report.journal') = 'on'
BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END;
CREATE TRIGGER payments_report_new AFTER INSERT ON payments
WHEN (SELECT value FROM settings WHERE name = 'report.journal') = 'on'
BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END;
CREATE TRIGGER payments_report AFTER UPDATE OF status, amount_fen, batch_id, payment_ref ON payments
WHEN (SELECT value FROM settings WHERE name = 'report.journal') = 'on'
BEGIN INSERT INTO report_changes (registration_id) VALUES (NEW.registration_id); END;
