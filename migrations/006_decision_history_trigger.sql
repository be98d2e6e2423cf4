-- Status history is written by triggers as decisions are made and change,
-- which spares two indexes on decisions that every night's writes paid for.
-- A new decision starts with the outcome of rules 1-17; when the first-come
-- rules change it in the same run, that run's history row is replaced, so
-- the history holds one row per registration and run: what the run decided.
DROP INDEX decisions_changed;
DROP INDEX decisions_status;
CREATE INDEX status_history_run ON status_history(run_id);
CREATE TRIGGER decisions_history_new AFTER INSERT ON decisions
BEGIN
    INSERT INTO status_history (registration_id, run_id, status, reasons)
    VALUES (NEW.registration_id, NEW.changed_run, NEW.status, NEW.reasons);
END;
CREATE TRIGGER decisions_history AFTER UPDATE OF status, reasons ON decisions
WHEN NEW.status != OLD.status OR NEW.reasons != OLD.reasons
BEGIN
    -- (+run_id: look the row up by registration, not by run, which holds a whole night)
    DELETE FROM status_history WHERE registration_id = NEW.registration_id AND +run_id = NEW.changed_run;
    INSERT INTO status_history (registration_id, run_id, status, reasons)
    VALUES (NEW.registration_id, NEW.changed_run, NEW.status, NEW.reasons);
END;
