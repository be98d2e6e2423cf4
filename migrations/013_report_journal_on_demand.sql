-- The report journal's triggers (009) ran on every insert and update of a
-- decision or payment, their WHEN subquery asking whether the journal was
-- on, also on a first night when it never is: about 2 µs a row, seconds
-- of a million-row night. They are now created when a report first turns
-- the journal on (connectors/sqlite/report.go, journalTriggers), and their
-- existence is the switch. The notes and state kept so far are dropped with
-- the old triggers, so the next report reads every registration and starts
-- a new state: nothing that changed in between can be missed.
DROP TRIGGER decisions_report_new;
DROP TRIGGER decisions_report;
DROP TRIGGER payments_report_new;
DROP TRIGGER payments_report;
DELETE FROM settings WHERE name IN ('report.journal', 'report.state');
DELETE FROM report_changes;
