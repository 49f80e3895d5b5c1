-- reviewkit schema 18: consents given or withdrawn after the requests were made.
CREATE TABLE consent_changes (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    channel      TEXT NOT NULL,
    address_key  TEXT NOT NULL,                  -- case-folded
    at           INTEGER NOT NULL,               -- epoch microseconds, UTC
    data         TEXT NOT NULL                   -- the change as JSON
);
CREATE INDEX consent_changes_of ON consent_changes (channel, address_key, at);
