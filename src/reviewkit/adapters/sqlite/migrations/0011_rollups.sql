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

CREATE TRIGGER answer_rollups_insert AFTER INSERT ON answers WHEN new.current = 1
BEGIN
    INSERT INTO answer_rollups
    SELECT new.kind, s.span, new.at - (new.at % s.span + s.span) % s.span, new.campaign_id,
        new.channel, ifnull('=' || new.segment, ''), 1, new.score, new.score * new.score,
        CASE new.kind WHEN 'nps' THEN new.score >= 9 WHEN 'csat' THEN new.score >= 4 ELSE 0 END,
        CASE new.kind WHEN 'nps' THEN new.score <= 6 ELSE 0 END
    FROM rollup_spans AS s WHERE true
    ON CONFLICT DO UPDATE SET n = n + excluded.n, total = total + excluded.total,
        squares = squares + excluded.squares, top = top + excluded.top,
        bottom = bottom + excluded.bottom;
END;

CREATE TRIGGER answer_rollups_delete AFTER DELETE ON answers WHEN old.current = 1
BEGIN
    UPDATE answer_rollups SET n = n - 1, total = total - old.score,
        squares = squares - old.score * old.score,
        top = top - CASE old.kind WHEN 'nps' THEN old.score >= 9
                                  WHEN 'csat' THEN old.score >= 4 ELSE 0 END,
        bottom = bottom - CASE old.kind WHEN 'nps' THEN old.score <= 6 ELSE 0 END
    WHERE kind = old.kind AND campaign_id = old.campaign_id AND channel = old.channel
        AND segment_key = ifnull('=' || old.segment, '')
        AND (span, slot) IN (SELECT span, old.at - (old.at % span + span) % span FROM rollup_spans);
    DELETE FROM answer_rollups
    WHERE kind = old.kind AND campaign_id = old.campaign_id AND channel = old.channel
        AND segment_key = ifnull('=' || old.segment, '') AND n = 0
        AND (span, slot) IN (SELECT span, old.at - (old.at % span + span) % span FROM rollup_spans);
END;

-- An update counts as deleting the old answer and inserting the new one.
CREATE TRIGGER answer_rollups_update
AFTER UPDATE OF current, kind, score, at, campaign_id, channel, segment ON answers
WHEN old.current = 1 OR new.current = 1
BEGIN
    UPDATE answer_rollups SET n = n - 1, total = total - old.score,
        squares = squares - old.score * old.score,
        top = top - CASE old.kind WHEN 'nps' THEN old.score >= 9
                                  WHEN 'csat' THEN old.score >= 4 ELSE 0 END,
        bottom = bottom - CASE old.kind WHEN 'nps' THEN old.score <= 6 ELSE 0 END
    WHERE old.current = 1 AND kind = old.kind AND campaign_id = old.campaign_id
        AND channel = old.channel AND segment_key = ifnull('=' || old.segment, '')
        AND (span, slot) IN (SELECT span, old.at - (old.at % span + span) % span FROM rollup_spans);
    DELETE FROM answer_rollups
    WHERE old.current = 1 AND kind = old.kind AND campaign_id = old.campaign_id
        AND channel = old.channel AND segment_key = ifnull('=' || old.segment, '') AND n = 0
        AND (span, slot) IN (SELECT span, old.at - (old.at % span + span) % span FROM rollup_spans);
    INSERT INTO answer_rollups
    SELECT new.kind, s.span, new.at - (new.at % s.span + s.span) % s.span, new.campaign_id,
        new.channel, ifnull('=' || new.segment, ''), 1, new.score, new.score * new.score,
        CASE new.kind WHEN 'nps' THEN new.score >= 9 WHEN 'csat' THEN new.score >= 4 ELSE 0 END,
        CASE new.kind WHEN 'nps' THEN new.score <= 6 ELSE 0 END
    FROM rollup_spans AS s WHERE new.current = 1
    ON CONFLICT DO UPDATE SET n = n + excluded.n, total = total + excluded.total,
        squares = squares + excluded.squares, top = top + excluded.top,
        bottom = bottom + excluded.bottom;
END;

-- The answers recorded before this version are summed by the store right after this script
-- (queries.sql: fill_rollups), which also rebuilds the rollups on demand.
