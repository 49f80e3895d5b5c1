-- reviewkit schema 3: the worst comments of a period, read in score order without sorting
-- every answer of the period.
CREATE INDEX answers_comments ON answers (kind, score, at DESC)
    WHERE current = 1 AND comment IS NOT NULL AND comment <> '';
