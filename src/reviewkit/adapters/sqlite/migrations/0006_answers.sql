-- reviewkit schema 6: survey answers, with their history and the host's answer hook.

CREATE TABLE answers (
    seq            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    delivery_id    TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    campaign_id    TEXT NOT NULL,
    kind           TEXT NOT NULL,                    -- nps, csat, ces
    score          INTEGER NOT NULL,
    comment        TEXT,
    at             INTEGER NOT NULL,                 -- epoch microseconds, UTC
    channel        TEXT NOT NULL,
    segment        TEXT,
    current        INTEGER NOT NULL,                 -- 1: the answer that counts
    hook_done      INTEGER NOT NULL DEFAULT 0,
    hook_attempts  INTEGER NOT NULL DEFAULT 0,
    hook_error     TEXT,
    hook_next_at   INTEGER
);

CREATE INDEX answers_delivery ON answers (delivery_id);
-- Scores: one index range per (type, group, period), covering the score.
CREATE INDEX answers_by_segment ON answers (kind, segment, at, score) WHERE current = 1;
CREATE INDEX answers_by_time ON answers (kind, at, score) WHERE current = 1;
CREATE INDEX answers_hooks ON answers (hook_next_at) WHERE hook_done = 0;

-- The chat channel's address book entry.
ALTER TABLE deliveries ADD COLUMN chat_id TEXT;
