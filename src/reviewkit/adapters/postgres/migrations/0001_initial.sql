-- reviewkit PostgreSQL schema 1: everything the SQLite store has at its schema 11, in one
-- step. Instants are UTC epoch microseconds (bigint), as in SQLite, so the score rollups'
-- slot arithmetic and the view's page cursors are the same in both.

CREATE TABLE campaigns (
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    status      text NOT NULL,
    version     integer NOT NULL,
    created_at  bigint,
    data        text NOT NULL                    -- every other setting, as JSON (cattrs)
);
CREATE INDEX campaigns_status ON campaigns (status);

CREATE TABLE deliveries (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- insertion order
    id              text NOT NULL UNIQUE,
    campaign_id     text NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    channel         text NOT NULL,
    address         text NOT NULL,
    request_key     text NOT NULL,               -- 't:' transaction or 'a:' address
    status          text NOT NULL,
    -- When a worker may claim it: due (or 0) while pending, the lease's end while claimed,
    -- the reminder time once sent; NULL once final. One column: "what is due" is one range.
    available_at    bigint,
    due_at          bigint,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    sent_at         bigint,
    claimed_by      text,
    lease_until     bigint,
    email           text,
    phone           text,
    name            text,
    transaction_id  text,
    timezone        text,
    fields          text,                        -- JSON object or NULL
    sender          text,
    created_at      bigint,
    scheduled_at    bigint NOT NULL,             -- requested time, for the view
    segment         text,
    consents        text,                        -- JSON object or NULL
    reason          text,
    remind_at       bigint,
    reminders_sent  integer NOT NULL DEFAULT 0,
    opened_at       bigint,
    clicked_at      bigint,
    answered_at     bigint,
    unsubscribed_at bigint,
    chat_id         text,
    category        text GENERATED ALWAYS AS (
        CASE
            WHEN status IN ('pending', 'claimed') THEN 'pending'
            WHEN status = 'cancelled' THEN 'cancelled'
            WHEN status = 'failed' THEN 'undelivered'
            WHEN unsubscribed_at IS NOT NULL
                 OR (status = 'suppressed' AND reason = 'unsubscribed') THEN 'unsubscribed'
            WHEN status = 'suppressed' THEN 'rejected'
            ELSE 'sent'
        END
    ) STORED,
    UNIQUE (campaign_id, channel, request_key)
);
CREATE INDEX deliveries_due ON deliveries (campaign_id, available_at, seq)
    WHERE available_at IS NOT NULL;
CREATE INDEX deliveries_status ON deliveries (campaign_id, status);
-- The search by e-mail ignores the case of ASCII letters, as SQLite's NOCASE does.
CREATE INDEX deliveries_email
    ON deliveries (translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'))
    WHERE email IS NOT NULL;
CREATE INDEX deliveries_phone ON deliveries (phone) WHERE phone IS NOT NULL;
CREATE INDEX deliveries_transaction ON deliveries (transaction_id)
    WHERE transaction_id IS NOT NULL;
CREATE INDEX deliveries_iter ON deliveries (campaign_id, seq);
-- The collection view: newest first by the scheduled or the sent time, by category, or a
-- segment's, with the insertion order (seq) as the tie-breaker.
CREATE INDEX deliveries_view ON deliveries (scheduled_at, seq);
CREATE INDEX deliveries_view_category ON deliveries (category, scheduled_at, seq);
CREATE INDEX deliveries_view_segment ON deliveries (segment, category, scheduled_at, seq)
    WHERE segment IS NOT NULL;
CREATE INDEX deliveries_view_sent ON deliveries (category, sent_at, seq)
    WHERE sent_at IS NOT NULL;

CREATE TABLE suppressions (
    channel      text NOT NULL,
    address_key  text NOT NULL,                  -- casefolded address
    address      text NOT NULL,
    reason       text NOT NULL,
    at           bigint NOT NULL,
    note         text,
    PRIMARY KEY (channel, address_key)
);

-- Pacing slots shared by every worker on every host: a row per campaign or account, locked
-- while a worker takes its slot.
CREATE TABLE pacing (
    key      text PRIMARY KEY,
    next_at  bigint NOT NULL
);

CREATE TABLE answers (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             text NOT NULL UNIQUE,
    delivery_id    text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    campaign_id    text NOT NULL,
    kind           text NOT NULL,                -- nps, csat, ces
    score          integer NOT NULL,
    comment        text,
    at             bigint NOT NULL,
    channel        text NOT NULL,
    segment        text,
    current        integer NOT NULL,             -- 1: the answer that counts
    hook_done      integer NOT NULL DEFAULT 0,
    hook_attempts  integer NOT NULL DEFAULT 0,
    hook_error     text,
    hook_next_at   bigint
);
CREATE INDEX answers_delivery ON answers (delivery_id, seq);
CREATE INDEX answers_by_segment ON answers (kind, segment, at, score) WHERE current = 1;
CREATE INDEX answers_by_time ON answers (kind, at, score) WHERE current = 1;
CREATE INDEX answers_hooks ON answers (hook_next_at) WHERE hook_done = 0;
CREATE INDEX answers_at ON answers (at) WHERE current = 1;

CREATE TABLE trigger_firings (
    rule_id     text NOT NULL,
    entity_id   text NOT NULL,
    at          bigint NOT NULL,
    PRIMARY KEY (rule_id, entity_id)
);

CREATE TABLE alert_rules (
    seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id      text NOT NULL UNIQUE,
    name    text NOT NULL UNIQUE,
    data    text NOT NULL                        -- the rule as JSON, with its kind
);

CREATE TABLE alerts (
    fingerprint text PRIMARY KEY,
    rule_id     text NOT NULL,
    state       text NOT NULL,
    updated_at  bigint NOT NULL,
    data        text NOT NULL
);
CREATE INDEX alerts_by_rule ON alerts (rule_id);
CREATE INDEX alerts_by_state ON alerts (state, updated_at);

CREATE TABLE alert_notifications (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    status       text NOT NULL,
    available_at bigint,                         -- due, or lease end while claimed
    claimed_by   text,
    data         text NOT NULL
);
CREATE INDEX alert_notifications_due ON alert_notifications (available_at, seq)
    WHERE available_at IS NOT NULL;

CREATE TABLE alert_silences (
    id          text PRIMARY KEY,
    starts_at   bigint NOT NULL,
    ends_at     bigint NOT NULL,
    data        text NOT NULL
);

CREATE TABLE tasks (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    status      text NOT NULL,
    assignee    text NOT NULL,
    deadline    bigint,
    created_at  bigint NOT NULL,
    version     integer NOT NULL,
    data        text NOT NULL
);
CREATE INDEX tasks_by_status ON tasks (status, deadline);
CREATE INDEX tasks_by_assignee ON tasks (assignee, status);

CREATE TABLE classifications (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    request_id  text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    campaign_id text NOT NULL,
    at          bigint NOT NULL,
    data        text NOT NULL
);
CREATE INDEX classifications_by_request ON classifications (request_id);
CREATE INDEX classifications_by_campaign ON classifications (campaign_id, at);

-- Score rollups: the sums of the current answers per survey type, campaign, channel and
-- segment for every UTC hour and day, kept by a trigger on answers.
CREATE TABLE answer_rollups (
    kind         text NOT NULL,
    span         bigint NOT NULL,    -- the slot's length: 3600000000 (hour) or 86400000000 (day)
    slot         bigint NOT NULL,    -- the slot's start
    campaign_id  text NOT NULL,
    channel      text NOT NULL,
    segment_key  text NOT NULL,      -- '' without a segment, else '=' followed by the segment
    n            bigint NOT NULL,
    total        bigint NOT NULL,
    squares      bigint NOT NULL,
    top          bigint NOT NULL,
    bottom       bigint NOT NULL,
    PRIMARY KEY (kind, span, slot, campaign_id, channel, segment_key)
);

CREATE TABLE rollup_spans (span bigint PRIMARY KEY);
INSERT INTO rollup_spans VALUES (3600000000), (86400000000);

-- One answer added to (p_sign 1) or taken from (p_sign -1) the rollups: the one place that
-- does so. Rows are touched in span order, so two writers never wait on each other in a cycle.
CREATE FUNCTION reviewkit_rollup_change(
    p_kind text, p_at bigint, p_campaign text, p_channel text, p_segment text,
    p_score integer, p_sign integer
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO answer_rollups AS r
    SELECT p_kind, s.span, p_at - ((p_at % s.span) + s.span) % s.span, p_campaign, p_channel,
        coalesce('=' || p_segment, ''), p_sign, p_sign * p_score, p_sign * p_score * p_score,
        p_sign * CASE WHEN p_kind = 'nps' AND p_score >= 9 THEN 1
                      WHEN p_kind = 'csat' AND p_score >= 4 THEN 1 ELSE 0 END,
        p_sign * CASE WHEN p_kind = 'nps' AND p_score <= 6 THEN 1 ELSE 0 END
    FROM rollup_spans AS s ORDER BY s.span
    ON CONFLICT (kind, span, slot, campaign_id, channel, segment_key) DO UPDATE
    SET n = r.n + excluded.n, total = r.total + excluded.total,
        squares = r.squares + excluded.squares, top = r.top + excluded.top,
        bottom = r.bottom + excluded.bottom;
    IF p_sign < 0 THEN
        DELETE FROM answer_rollups AS r
        USING rollup_spans AS s
        WHERE r.n = 0 AND r.kind = p_kind AND r.span = s.span
            AND r.slot = p_at - ((p_at % s.span) + s.span) % s.span
            AND r.campaign_id = p_campaign AND r.channel = p_channel
            AND r.segment_key = coalesce('=' || p_segment, '');
    END IF;
END
$$;

-- Inserted, deleted and updated answers (an update is the old answer taken away and the new
-- one added), whatever writes them, cascades from deleted campaigns included.
CREATE FUNCTION reviewkit_answers_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.current = 1 THEN
        PERFORM reviewkit_rollup_change(OLD.kind, OLD.at, OLD.campaign_id, OLD.channel,
                                        OLD.segment, OLD.score, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.current = 1 THEN
        PERFORM reviewkit_rollup_change(NEW.kind, NEW.at, NEW.campaign_id, NEW.channel,
                                        NEW.segment, NEW.score, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER answers_rollup
AFTER INSERT OR DELETE OR UPDATE OF current, kind, score, at, campaign_id, channel, segment
ON answers FOR EACH ROW EXECUTE FUNCTION reviewkit_answers_rollup();

-- Dispatchers wait for notices on this channel (a campaign id) instead of polling: its
-- requests were added, became due again, or were finished by a worker (others waiting for
-- that worker's claims may then be done). Claims themselves send none. One notice per
-- campaign and statement, and PostgreSQL merges equal notices of one transaction, so a bulk
-- import or a batch of outcomes sends a handful, not one per row.
CREATE FUNCTION reviewkit_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('reviewkit_due', c.campaign_id)
    FROM (SELECT DISTINCT campaign_id FROM changed WHERE status <> 'claimed') AS c;
    RETURN NULL;
END
$$;

CREATE TRIGGER deliveries_added_notify
AFTER INSERT ON deliveries REFERENCING NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION reviewkit_notify_due();

CREATE TRIGGER deliveries_changed_notify
AFTER UPDATE ON deliveries REFERENCING NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION reviewkit_notify_due();
