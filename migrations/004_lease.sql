-- One run at a time per database: the run holding this row works, any other
-- exits naming it. The holder refreshes heartbeat_at; a lease whose holder
-- stopped refreshing (or whose process is gone) expires.
CREATE TABLE lease (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    holder       TEXT NOT NULL,   -- user@host pid N
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    run_id       INTEGER,
    command      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);
