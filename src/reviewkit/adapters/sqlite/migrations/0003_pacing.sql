-- reviewkit schema 3: pacing slots shared by every worker (a campaign's interval, an
-- account's rate limit), so they hold across processes and restarts.

CREATE TABLE pacing (
    key      TEXT PRIMARY KEY,
    next_at  INTEGER NOT NULL            -- epoch microseconds, UTC
) WITHOUT ROWID;
