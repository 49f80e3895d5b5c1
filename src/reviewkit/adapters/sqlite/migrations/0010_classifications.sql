-- reviewkit schema 10: outcome classifications of requests.

CREATE TABLE classifications (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    request_id  TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL,
    at          INTEGER NOT NULL,            -- epoch microseconds, UTC
    data        TEXT NOT NULL                -- the classification as JSON
);
CREATE INDEX classifications_by_request ON classifications (request_id);
CREATE INDEX classifications_by_campaign ON classifications (campaign_id, at);
