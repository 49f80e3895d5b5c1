-- reviewkit schema 7: each receiver's groups of alerts on routes whose messages wait
-- (group_wait, group_interval): when the waiting message goes out, when the last one did.
CREATE TABLE notification_groups (
    receiver    text NOT NULL,
    group_key   text NOT NULL,
    due_at      bigint,                          -- epoch microseconds, UTC
    sent_at     bigint,
    PRIMARY KEY (receiver, group_key)
);
