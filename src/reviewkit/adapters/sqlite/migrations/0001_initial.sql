-- reviewkit schema 1: campaigns and their deliveries.

CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER,             -- epoch microseconds, UTC
    data        TEXT NOT NULL        -- every other setting, as JSON (cattrs)
);

CREATE INDEX campaigns_status ON campaigns (status);

CREATE TABLE deliveries (
    seq             INTEGER PRIMARY KEY,                 -- insertion order
    id              TEXT NOT NULL UNIQUE,
    campaign_id     TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    address         TEXT NOT NULL,
    address_key     TEXT NOT NULL,                       -- casefolded address
    status          TEXT NOT NULL,
    -- When a worker may claim it: due_at (or 0) while pending, the lease expiry while
    -- claimed, NULL once final. One column, so "what is due" is one index range.
    available_at    INTEGER,
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
    fields          TEXT,                                -- JSON object or NULL
    UNIQUE (campaign_id, channel, address_key)
);

CREATE INDEX deliveries_due ON deliveries (campaign_id, available_at)
    WHERE available_at IS NOT NULL;
CREATE INDEX deliveries_status ON deliveries (campaign_id, status);
CREATE INDEX deliveries_email ON deliveries (email) WHERE email IS NOT NULL;
CREATE INDEX deliveries_phone ON deliveries (phone) WHERE phone IS NOT NULL;
CREATE INDEX deliveries_transaction ON deliveries (transaction_id)
    WHERE transaction_id IS NOT NULL;
