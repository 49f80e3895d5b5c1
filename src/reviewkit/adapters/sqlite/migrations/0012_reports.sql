-- reviewkit schema 12: scheduled reports and their outbox.

CREATE TABLE reports (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    data        TEXT NOT NULL                    -- the definition as JSON
);

-- One report for one recipient and one period; the unique key is what makes it go out
-- once however many workers plan it.
CREATE TABLE report_runs (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    report_id    TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    recipient    TEXT NOT NULL,                  -- case-folded address
    period       TEXT NOT NULL,
    status       TEXT NOT NULL,
    available_at INTEGER,                        -- due, or lease end while claimed; NULL when done
    claimed_by   TEXT,
    data         TEXT NOT NULL,
    UNIQUE (report_id, recipient, period)
);
CREATE INDEX report_runs_due ON report_runs (available_at) WHERE available_at IS NOT NULL;

-- The answer funnel of a period: requests by their first send time.
CREATE INDEX deliveries_sent ON deliveries (sent_at, segment) WHERE sent_at IS NOT NULL;
