-- reviewkit schema 5: the collection view, consents, engagement and reminders.
--
-- One request per transaction and channel: the unique key becomes request_key (the
-- transaction id when there is one, else the case-folded address), so the table is
-- rebuilt. Existing rows keep their address key unless their transaction id is unique in
-- the campaign, so no stored request is lost or merged.

CREATE TABLE deliveries_new (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    campaign_id     TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    address         TEXT NOT NULL,
    request_key     TEXT NOT NULL,                       -- 't:' transaction or 'a:' address
    status          TEXT NOT NULL,
    available_at    INTEGER,                             -- due, lease end or reminder time
    due_at          INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    sent_at         INTEGER,
    claimed_by      TEXT,
    lease_until     INTEGER,
    email           TEXT,
    phone           TEXT,
    name            TEXT,
    transaction_id  TEXT,
    timezone        TEXT,
    fields          TEXT,
    sender          TEXT,
    created_at      INTEGER,
    scheduled_at    INTEGER NOT NULL,                    -- requested time, for the view
    segment         TEXT,
    consents        TEXT,                                -- JSON object or NULL
    reason          TEXT,                                -- why suppressed
    remind_at       INTEGER,
    reminders_sent  INTEGER NOT NULL DEFAULT 0,
    opened_at       INTEGER,
    clicked_at      INTEGER,
    answered_at     INTEGER,
    unsubscribed_at INTEGER,
    category        TEXT GENERATED ALWAYS AS (
        CASE
            WHEN status IN ('pending', 'claimed') THEN 'pending'
            WHEN status = 'cancelled' THEN 'cancelled'
            WHEN status = 'failed' THEN 'undelivered'
            WHEN unsubscribed_at IS NOT NULL
                 OR (status = 'suppressed' AND reason = 'unsubscribed') THEN 'unsubscribed'
            WHEN status = 'suppressed' THEN 'rejected'
            ELSE 'sent'
        END
    ) VIRTUAL,
    UNIQUE (campaign_id, channel, request_key)
);

INSERT INTO deliveries_new (
    seq, id, campaign_id, channel, address, request_key, status, available_at, due_at,
    attempts, last_error, sent_at, claimed_by, lease_until, email, phone, name,
    transaction_id, timezone, fields, sender, scheduled_at
)
SELECT
    seq, id, campaign_id, channel, address,
    CASE
        WHEN transaction_id IS NOT NULL AND count(*) OVER (
            PARTITION BY campaign_id, channel, transaction_id) = 1
        THEN 't:' || transaction_id
        ELSE 'a:' || address_key
    END,
    status, available_at, due_at, attempts, last_error, sent_at, claimed_by, lease_until,
    email, phone, name, transaction_id, timezone, fields, sender,
    coalesce(due_at, sent_at, 0)
FROM deliveries;

DROP TABLE deliveries;

ALTER TABLE deliveries_new RENAME TO deliveries;

CREATE INDEX deliveries_due ON deliveries (campaign_id, available_at)
    WHERE available_at IS NOT NULL;
CREATE INDEX deliveries_status ON deliveries (campaign_id, status);
CREATE INDEX deliveries_email ON deliveries (email COLLATE NOCASE) WHERE email IS NOT NULL;
CREATE INDEX deliveries_phone ON deliveries (phone) WHERE phone IS NOT NULL;
CREATE INDEX deliveries_transaction ON deliveries (transaction_id)
    WHERE transaction_id IS NOT NULL;
-- The collection view: newest first by the scheduled or the sent time, by category, or a
-- segment's; the row id (seq) is the tie-breaker every index carries implicitly.
CREATE INDEX deliveries_view ON deliveries (scheduled_at);
CREATE INDEX deliveries_view_category ON deliveries (category, scheduled_at);
CREATE INDEX deliveries_view_segment ON deliveries (segment, category, scheduled_at)
    WHERE segment IS NOT NULL;
CREATE INDEX deliveries_view_sent ON deliveries (category, sent_at) WHERE sent_at IS NOT NULL;
