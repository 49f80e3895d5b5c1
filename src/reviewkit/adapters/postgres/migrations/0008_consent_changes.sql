-- reviewkit schema 8: consents given or withdrawn after the requests were made.
CREATE TABLE consent_changes (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    channel      text NOT NULL,
    address_key  text NOT NULL,                      -- case-folded
    at           bigint NOT NULL,                    -- epoch microseconds, UTC
    data         text NOT NULL                       -- the change as JSON
);
CREATE INDEX consent_changes_of ON consent_changes (channel, address_key, at);
