-- reviewkit schema 9: tasks (follow-ups on alerts and answers).

CREATE TABLE tasks (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    assignee    TEXT NOT NULL,
    deadline    INTEGER,                     -- epoch microseconds, UTC
    created_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    data        TEXT NOT NULL                -- the task as JSON
);
CREATE INDEX tasks_by_status ON tasks (status, deadline);
CREATE INDEX tasks_by_assignee ON tasks (assignee, status);
