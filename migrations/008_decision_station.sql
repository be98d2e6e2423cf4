-- Every report lists every registration with its station; keeping the
-- station on the decision spares each night a lookup into the versions for
-- every registration. Judging writes it with the decision.
ALTER TABLE decisions ADD COLUMN station TEXT NOT NULL DEFAULT '';
UPDATE decisions SET station = (SELECT v.station FROM registration_versions v WHERE v.id = decisions.version_id);
