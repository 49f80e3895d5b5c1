-- reviewkit schema 4: what mailbox providers and gateways report after the handoff.
ALTER TABLE deliveries ADD COLUMN delivered_at bigint;
ALTER TABLE deliveries ADD COLUMN bounced_at bigint;
ALTER TABLE deliveries ADD COLUMN complained_at bigint;

CREATE TABLE soft_bounces (
    channel      text NOT NULL,
    address_key  text NOT NULL,
    count        integer NOT NULL,
    last_at      bigint NOT NULL,
    PRIMARY KEY (channel, address_key)
);
