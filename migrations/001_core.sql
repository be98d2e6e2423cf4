-- The reconciliation core: programmes, runs, inbound files, versioned
-- registrations and certificates, and the decision on every registration.
-- Times are Beijing local time as 'YYYY-MM-DD HH:MM:SS', dates 'YYYY-MM-DD',
-- money integer fen.

CREATE TABLE programmes (
    code      TEXT PRIMARY KEY,
    source    TEXT NOT NULL,          -- the programme file, as loaded
    sha256    TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);

-- Small named values: the active programme, the reconcile watermarks.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    business_date TEXT NOT NULL,
    trigger       TEXT NOT NULL,      -- manual, schedule, rerun, ingest
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    outcome       TEXT NOT NULL DEFAULT 'running', -- running, succeeded, failed
    error         TEXT
);

CREATE TABLE stages (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    stage       TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT NOT NULL,        -- running, succeeded, failed
    counts      TEXT NOT NULL DEFAULT '',
    error       TEXT,
    PRIMARY KEY (run_id, stage)
);

-- Every inbound file seen, taken or quarantined, by location, name and SHA-256.
CREATE TABLE files (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,      -- registrations, certificates, results
    location      TEXT NOT NULL,
    name          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    encoding      TEXT NOT NULL DEFAULT '',
    outcome       TEXT NOT NULL,      -- taken, quarantined
    reason        TEXT NOT NULL DEFAULT '',
    rows_applied  INTEGER NOT NULL DEFAULT 0,
    rows_rejected INTEGER NOT NULL DEFAULT 0,
    run_id        INTEGER REFERENCES runs(id),
    taken_at      TEXT NOT NULL,
    UNIQUE (location, name, sha256)
);
CREATE INDEX files_name ON files(location, name);
CREATE INDEX files_run ON files(run_id);

-- Rows of taken files that were not applied.
CREATE TABLE rejects (
    file_id INTEGER NOT NULL REFERENCES files(id),
    line    INTEGER NOT NULL,
    field   TEXT NOT NULL,
    reason  TEXT NOT NULL
);
CREATE INDEX rejects_file ON rejects(file_id);

-- Every version of every registration ever taken (the history); versions are
-- keyed by updated_at, and an equal one is not taken again.
CREATE TABLE registration_versions (
    id                 INTEGER PRIMARY KEY,
    registration_id    TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    file_id            INTEGER NOT NULL REFERENCES files(id),
    line               INTEGER NOT NULL,
    submitted_at       TEXT NOT NULL,
    name               TEXT NOT NULL,
    id_number          TEXT NOT NULL,
    card_number        TEXT NOT NULL,
    mobile             TEXT NOT NULL,
    certificate_number TEXT NOT NULL,
    occupation         TEXT NOT NULL,
    level              INTEGER NOT NULL,
    issue_date         TEXT NOT NULL,
    station            TEXT NOT NULL,
    verification       TEXT NOT NULL,
    verified_at        TEXT NOT NULL,
    verified_by        TEXT NOT NULL,
    cert_key           TEXT NOT NULL,     -- normalised certificate number
    UNIQUE (registration_id, updated_at)
);

-- The current (latest updated_at) version of each registration.
CREATE TABLE registrations (
    registration_id TEXT PRIMARY KEY,
    version_id      INTEGER NOT NULL REFERENCES registration_versions(id),
    updated_at      TEXT NOT NULL,
    cert_key        TEXT NOT NULL     -- normalised certificate number
) WITHOUT ROWID;
CREATE INDEX registrations_version ON registrations(version_id);
CREATE INDEX registrations_cert ON registrations(cert_key);

CREATE TABLE certificate_versions (
    id             INTEGER PRIMARY KEY,
    cert_key       TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    file_id        INTEGER NOT NULL REFERENCES files(id),
    line           INTEGER NOT NULL,
    number         TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    name           TEXT NOT NULL,
    occupation     TEXT NOT NULL,
    level          INTEGER NOT NULL,
    issue_date     TEXT NOT NULL,
    authority_code TEXT NOT NULL,
    authority_name TEXT NOT NULL,
    status         TEXT NOT NULL,
    UNIQUE (cert_key, updated_at)
);

CREATE TABLE certificates (
    cert_key   TEXT PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES certificate_versions(id),
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX certificates_version ON certificates(version_id);

-- The decision on each registration's current version. base_* is the outcome
-- of rules 1-17 (pipeline.Programme.Evaluate); duplicate and over_limit are
-- the first-come rules 18 and 19; status and reasons combine them.
CREATE TABLE decisions (
    registration_id TEXT PRIMARY KEY,
    version_id      INTEGER NOT NULL,
    cert_version_id INTEGER,
    base_status     TEXT NOT NULL,
    base_reasons    TEXT NOT NULL,    -- failing codes 1-17 joined by ';'
    findings        TEXT NOT NULL,    -- JSON: the failing checks with their values
    cert_key        TEXT NOT NULL,
    person_key      TEXT NOT NULL,    -- normalised ID number '|' level
    submitted_at    TEXT NOT NULL,
    level           INTEGER NOT NULL,
    amount_fen      INTEGER,          -- when rules 1-17 pass
    held            INTEGER NOT NULL DEFAULT 0, -- a payment of it is in a batch: it keeps its place
    duplicate       INTEGER NOT NULL DEFAULT 0,
    over_limit      INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    reasons         TEXT NOT NULL,
    decided_run     INTEGER NOT NULL,
    changed_run     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX decisions_cert ON decisions(cert_key);
CREATE INDEX decisions_person ON decisions(person_key);
CREATE INDEX decisions_changed ON decisions(changed_run);
CREATE INDEX decisions_status ON decisions(status);

-- Every change of a registration's status or reasons, run by run.
CREATE TABLE status_history (
    registration_id TEXT NOT NULL,
    run_id          INTEGER NOT NULL,
    status          TEXT NOT NULL,
    reasons         TEXT NOT NULL
);
CREATE INDEX status_history_registration ON status_history(registration_id);
