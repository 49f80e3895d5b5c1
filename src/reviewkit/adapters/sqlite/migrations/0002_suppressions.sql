-- reviewkit schema 2: addresses never to send to, checked at send time.

CREATE TABLE suppressions (
    channel      TEXT NOT NULL,
    address_key  TEXT NOT NULL,          -- casefolded address
    address      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    at           INTEGER NOT NULL,       -- epoch microseconds, UTC
    note         TEXT,
    PRIMARY KEY (channel, address_key)
) WITHOUT ROWID;
