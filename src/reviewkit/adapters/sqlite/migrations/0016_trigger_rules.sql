-- reviewkit schema 16: trigger rules kept in the store (beside those a host passes in code).
CREATE TABLE trigger_rules (
    seq     INTEGER PRIMARY KEY,
    id      TEXT NOT NULL UNIQUE,
    data    TEXT NOT NULL                    -- the rule as JSON
);
