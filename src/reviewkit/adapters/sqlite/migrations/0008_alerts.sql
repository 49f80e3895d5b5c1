-- reviewkit schema 8: alert rules, the alerts they raised, and the notification outbox.

CREATE TABLE alert_rules (
    seq     INTEGER PRIMARY KEY,
    id      TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL UNIQUE,
    data    TEXT NOT NULL                    -- the rule as JSON, with its kind
);

CREATE TABLE alerts (
    fingerprint TEXT PRIMARY KEY,
    rule_id     TEXT NOT NULL,
    state       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,            -- epoch microseconds, UTC
    data        TEXT NOT NULL                -- the alert as JSON
) WITHOUT ROWID;
CREATE INDEX alerts_by_rule ON alerts (rule_id);
CREATE INDEX alerts_by_state ON alerts (state, updated_at);

CREATE TABLE alert_notifications (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    available_at INTEGER,                    -- due time, or lease end while claimed; NULL when done
    claimed_by  TEXT,
    data        TEXT NOT NULL                -- the notification as JSON
);
CREATE INDEX alert_notifications_due ON alert_notifications (available_at)
    WHERE available_at IS NOT NULL;

CREATE TABLE alert_silences (
    id          TEXT PRIMARY KEY,
    starts_at   INTEGER NOT NULL,            -- epoch microseconds, UTC
    ends_at     INTEGER NOT NULL,
    data        TEXT NOT NULL                -- the silence as JSON
) WITHOUT ROWID;

-- The answers of a time range, whatever their type (alert rules catching up on answers).
CREATE INDEX answers_at ON answers (at) WHERE current = 1;
