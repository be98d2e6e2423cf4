-- Status history is written by a trigger as decisions change, which spares
-- two indexes on decisions that every night's writes paid for.
DROP INDEX decisions_changed;
DROP INDEX decisions_status;
CREATE TRIGGER decisions_history AFTER UPDATE OF status, reasons ON decisions
WHEN NEW.status != OLD.status OR NEW.reasons != OLD.reasons
BEGIN
    INSERT INTO status_history (registration_id, run_id, status, reasons)
    VALUES (NEW.registration_id, NEW.changed_run, NEW.status, NEW.reasons);
END;
