-- reviewkit schema 6: trigger rules kept in the store (beside those a host passes in code).
CREATE TABLE trigger_rules (
    seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id      text NOT NULL UNIQUE,
    data    text NOT NULL                        -- the rule as JSON
);
