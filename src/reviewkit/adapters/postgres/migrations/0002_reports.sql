-- reviewkit schema 2: scheduled reports and their outbox.

CREATE TABLE reports (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    data        text NOT NULL
);

CREATE TABLE report_runs (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    report_id    text NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    recipient    text NOT NULL,
    period       text NOT NULL,
    status       text NOT NULL,
    available_at bigint,
    claimed_by   text,
    data         text NOT NULL,
    UNIQUE (report_id, recipient, period)
);
CREATE INDEX report_runs_due ON report_runs (available_at, seq) WHERE available_at IS NOT NULL;

CREATE INDEX deliveries_sent ON deliveries (sent_at, segment) WHERE sent_at IS NOT NULL;
