-- reviewkit schema 14: what mailbox providers and gateways report after the handoff.
ALTER TABLE deliveries ADD COLUMN delivered_at INTEGER;
ALTER TABLE deliveries ADD COLUMN bounced_at INTEGER;
ALTER TABLE deliveries ADD COLUMN complained_at INTEGER;

-- Soft bounces per address: the address is suppressed once it has bounced softly often.
CREATE TABLE soft_bounces (
    channel      TEXT NOT NULL,
    address_key  TEXT NOT NULL,                  -- case-folded
    count        INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    PRIMARY KEY (channel, address_key)
) WITHOUT ROWID;
