-- reviewkit schema 15: moderators' decisions on answers that may be published.
CREATE TABLE moderations (
    answer_id   TEXT PRIMARY KEY REFERENCES answers (id) ON DELETE CASCADE,
    state       TEXT NOT NULL,                   -- approved, hidden
    by_whom     TEXT NOT NULL,
    at          INTEGER NOT NULL,                -- epoch microseconds, UTC
    reason      TEXT
);
CREATE INDEX moderations_approved ON moderations (at) WHERE state = 'approved';
