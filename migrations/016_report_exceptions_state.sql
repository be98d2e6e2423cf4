-- exceptions.csv is now built, as registrations.csv is, from the last report's
-- state and the registrations noted since (connectors/report/state.go). Its
-- lines show more of a decision than registrations.csv's, and a loser's line
-- names its group's first, so the trigger on decisions notes more columns
-- (connectors/sqlite/report.go, journalTriggers). The old trigger is dropped
-- here and the next report creates the new one. Until then changes of
-- decisions go unnoted, so the state and the notes are dropped too: the next
-- report reads every registration and starts both states anew.
DROP TRIGGER IF EXISTS decisions_report;
DELETE FROM settings WHERE name = 'report.state';
DELETE FROM report_changes;
