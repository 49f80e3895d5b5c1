-- reviewkit schema 7: which trigger rule fired for which entity, so each fires once.

CREATE TABLE trigger_firings (
    rule_id     TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    at          INTEGER NOT NULL,            -- epoch microseconds, UTC
    PRIMARY KEY (rule_id, entity_id)
) WITHOUT ROWID;
