-- The report's alerts (a registration whose payment was in a batch and whose
-- rules now fail) are few: a partial index finds them without reading every
-- decision.
CREATE INDEX decisions_alerts ON decisions(registration_id) WHERE held = 1 AND status != 'ELIGIBLE';
