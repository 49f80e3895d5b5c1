-- reviewkit schema 17: each receiver's groups of alerts on routes whose messages wait
-- (group_wait, group_interval): when the waiting message goes out, when the last one did.
CREATE TABLE notification_groups (
    receiver    TEXT NOT NULL,
    group_key   TEXT NOT NULL,
    due_at      INTEGER,                     -- epoch microseconds, UTC
    sent_at     INTEGER,
    PRIMARY KEY (receiver, group_key)
) WITHOUT ROWID;
