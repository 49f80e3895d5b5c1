-- reviewkit schema 11: score rollups. The sums of the current answers per survey type,
-- campaign, channel and segment, for every UTC hour and every UTC day, kept up to date by
-- triggers as answers are added, replaced and deleted. A score reads the hours and days its
-- periods cover and only the answers at their ragged edges, whatever the number of answers.

CREATE TABLE answer_rollups (
    kind         TEXT NOT NULL,
    span         INTEGER NOT NULL,   -- the slot's length: 3600000000 (hour) or 86400000000 (day)
    slot         INTEGER NOT NULL,   -- the slot's start, epoch microseconds, UTC
    campaign_id  TEXT NOT NULL,
    channel      TEXT NOT NULL,
    segment_key  TEXT NOT NULL,      -- '' without a segment, else '=' followed by the segment
    n            INTEGER NOT NULL,
    total        INTEGER NOT NULL,   -- sum of the scores
    squares      INTEGER NOT NULL,   -- sum of their squares
    top          INTEGER NOT NULL,   -- promoters (NPS 9-10), satisfied (CSAT 4-5)
    bottom       INTEGER NOT NULL,   -- detractors (NPS 0-6)
    PRIMARY KEY (kind, span, slot, campaign_id, channel, segment_key)
) WITHOUT ROWID;

CREATE TABLE rollup_spans (span INTEGER PRIMARY KEY);
INSERT INTO rollup_spans VALUES (3600000000), (86400000000);

-- One answer added to (sign 1) or taken from (sign -1) the rollups: written to this view,
-- summed into the hour and day rows by its trigger, the one place that does so.
CREATE VIEW answer_rollup_changes (kind, at, campaign_id, channel, segment, score, sign) AS
SELECT kind, at, campaign_id, channel, segment, score, 1 FROM answers WHERE 0;

CREATE TRIGGER answer_rollup_change INSTEAD OF INSERT ON answer_rollup_changes
BEGIN
    INSERT INTO answer_rollups
    SELECT new.kind, s.span, new.at - (new.at % s.span + s.span) % s.span, new.campaign_id,
        new.channel, ifnull('=' || new.segment, ''), new.sign, new.sign * new.score,
        new.sign * new.score * new.score,
        new.sign * CASE new.kind WHEN 'nps' THEN new.score >= 9
                                 WHEN 'csat' THEN new.score >= 4 ELSE 0 END,
        new.sign * CASE new.kind WHEN 'nps' THEN new.score <= 6 ELSE 0 END
    FROM rollup_spans AS s WHERE true
    ON CONFLICT DO UPDATE SET n = n + excluded.n, total = total + excluded.total,
        squares = squares + excluded.squares, top = top + excluded.top,
        bottom = bottom + excluded.bottom;
    DELETE FROM answer_rollups
    WHERE new.sign < 0 AND n = 0 AND kind = new.kind AND campaign_id = new.campaign_id
        AND channel = new.channel AND segment_key = ifnull('=' || new.segment, '')
        AND (span, slot) IN (SELECT span, new.at - (new.at % span + span) % span
                             FROM rollup_spans);
END;

CREATE TRIGGER answer_rollups_insert AFTER INSERT ON answers WHEN new.current = 1
BEGIN
    INSERT INTO answer_rollup_changes
    VALUES (new.kind, new.at, new.campaign_id, new.channel, new.segment, new.score, 1);
END;

CREATE TRIGGER answer_rollups_delete AFTER DELETE ON answers WHEN old.current = 1
BEGIN
    INSERT INTO answer_rollup_changes
    VALUES (old.kind, old.at, old.campaign_id, old.channel, old.segment, old.score, -1);
END;

-- An update counts as deleting the old answer and inserting the new one.
CREATE TRIGGER answer_rollups_update
AFTER UPDATE OF current, kind, score, at, campaign_id, channel, segment ON answers
WHEN old.current = 1 OR new.current = 1
BEGIN
    INSERT INTO answer_rollup_changes
    SELECT old.kind, old.at, old.campaign_id, old.channel, old.segment, old.score, -1
    WHERE old.current = 1;
    INSERT INTO answer_rollup_changes
    SELECT new.kind, new.at, new.campaign_id, new.channel, new.segment, new.score, 1
    WHERE new.current = 1;
END;

-- The answers recorded before this version are summed by the store right after this script
-- (queries.sql: fill_rollups), which also rebuilds the rollups on demand.
