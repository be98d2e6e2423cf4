-- A registration whose payment entered a batch keeps the place it was paid
-- for: while it is held, its decision's group keys (cert_key, person_key)
-- stay those of the version that entered the batch, so that another
-- registration of that certificate, or of that person and level, is not paid
-- as well when a newer version names another certificate, ID number or
-- level. moved says that the current version names other ones: no money
-- moves for it (a payment not yet in a batch is withdrawn, a returned one is
-- not paid again) and the report lists it as an alert for finance staff.
ALTER TABLE decisions ADD COLUMN moved INTEGER NOT NULL DEFAULT 0 CHECK (moved IN (0, 1));
DROP INDEX decisions_alerts;
CREATE INDEX decisions_alerts ON decisions(registration_id) WHERE held = 1 AND (status != 'ELIGIBLE' OR moved = 1);
