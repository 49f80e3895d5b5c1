-- Every SQL statement the PostgreSQL store runs, each a named, described block.
--
-- A block starts with "-- name: NAME", then its description as comment lines, then the
-- statement, up to the next block. When the file is loaded, {delivery_columns},
-- {delivery_marks}, {answer_columns} and {answer_marks} are filled in; other names in
-- braces are filled where the store runs the statement, as the block's description says.
-- Parameters are written ? and :name, as in the SQLite store's file; the store turns them
-- into psycopg's %s and %(name)s when it runs a statement.

-- name: insert_campaign
-- Store a new campaign: its settings as JSON, and the name, status and version as columns.
INSERT INTO campaigns (id, name, status, version, created_at, data)
VALUES (?, ?, ?, ?, ?, ?);

-- name: get_campaign
-- One campaign by id.
SELECT id, name, status, version, created_at, data FROM campaigns WHERE id = ?;

-- name: get_campaign_by_name
-- One campaign by its unique name.
SELECT id, name, status, version, created_at, data FROM campaigns WHERE name = ?;

-- name: update_campaign
-- Save a campaign if nobody saved it since it was read (its version is still the one read).
UPDATE campaigns SET name = ?, status = ?, version = version + 1, data = ?
WHERE id = ? AND version = ?;

-- name: campaign_version
-- The stored version, to tell a stale save from a missing campaign.
SELECT version FROM campaigns WHERE id = ?;

-- name: delete_campaign
-- Delete a campaign; its requests and their answers go with it (ON DELETE CASCADE).
DELETE FROM campaigns WHERE id = ?;

-- name: list_campaigns
-- Every campaign, oldest first.
SELECT id, name, status, version, created_at, data FROM campaigns ORDER BY created_at NULLS FIRST, seq;

-- name: list_campaigns_in
-- Campaigns in some statuses ({marks}: one ? per status). Completed campaigns pile up over
-- the years: the dispatcher asks only for active ones.
SELECT id, name, status, version, created_at, data FROM campaigns
WHERE status IN ({marks}) ORDER BY created_at NULLS FIRST, seq;

-- name: insert_request
-- Add a request; one already stored with the same campaign, channel and request key is
-- skipped (the unique index), so re-importing a file adds only what is new.
INSERT INTO deliveries ({delivery_columns})
VALUES ({delivery_marks})
ON CONFLICT DO NOTHING;

-- name: get_request
-- One request by id.
SELECT {delivery_columns} FROM deliveries WHERE id = ?;

-- name: iter_requests
-- A campaign's requests in insertion order, a page at a time after the last seq seen.
SELECT seq, {delivery_columns} FROM deliveries WHERE campaign_id = ? AND seq > ?
ORDER BY seq LIMIT ?;

-- name: count_requests
-- How many requests a campaign has in each status.
SELECT status, count(*) FROM deliveries WHERE campaign_id = ? GROUP BY status;

-- name: set_status
-- Move a campaign's requests in some statuses ({marks}) to another status, releasing any
-- claim; not to Pending (see set_status_pending). The store appends "AND id IN (…)" to
-- move only some.
UPDATE deliveries SET status = ?, due_at = coalesce(CAST(? AS bigint), due_at),
    last_error = coalesce(CAST(? AS text), last_error), claimed_by = NULL, lease_until = NULL,
    available_at = CAST(? AS bigint)
WHERE campaign_id = ? AND status IN ({marks});

-- name: set_status_pending
-- Move requests back to Pending (a retry of failed ones, a recall of sent ones): a new send,
-- so attempts, the send time and reminders start again, and the request is claimable from
-- its due time.
UPDATE deliveries SET status = ?, due_at = coalesce(CAST(? AS bigint), due_at),
    last_error = coalesce(CAST(? AS text), last_error), claimed_by = NULL, lease_until = NULL,
    attempts = 0, sent_at = NULL, remind_at = NULL, reminders_sent = 0,
    available_at = coalesce(CAST(? AS bigint), due_at, 0)
WHERE campaign_id = ? AND status IN ({marks});

-- name: claim_due
-- Take a campaign's due requests for a worker until its lease ends, in one statement: the
-- earliest claimable first, then insertion order, by the partial index; rows another worker
-- is claiming at this moment are skipped, not waited for. RETURNING gives rows in no
-- promised order, so each comes with its claim-order key (the old available_at, seq).
WITH due AS (
    SELECT seq, available_at FROM deliveries
    WHERE campaign_id = :campaign AND available_at IS NOT NULL AND available_at <= :now
    ORDER BY available_at, seq
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries AS d
SET status = 'claimed', claimed_by = :worker, lease_until = :lease, available_at = :lease
FROM due
WHERE d.seq = due.seq
RETURNING due.available_at, due.seq, {delivery_columns_d};

-- name: renew_leases
-- Extend a worker's claims: only rows it still holds, whatever their lease says now.
UPDATE deliveries SET lease_until = :lease, available_at = :lease
WHERE id IN (SELECT value FROM json_array_elements_text(CAST(:ids AS json))) AND status = 'claimed' AND claimed_by = :worker
RETURNING id;

-- name: finish_request
-- Record a claim holder's outcome (the rules of reviewkit.domain.request.apply_outcome):
-- the first send time stays; a reminder is scheduled only while nobody answered or
-- unsubscribed (either may have happened while it was being sent). No row changes when the
-- worker no longer holds the claim.
UPDATE deliveries
SET status = :status, attempts = attempts + :counted, last_error = :error,
    sent_at = coalesce(sent_at, CAST(:sent_at AS bigint)),
    due_at = coalesce(CAST(:due_at AS bigint), due_at),
    reason = coalesce(CAST(:reason AS text), reason), reminders_sent = reminders_sent + :reminded,
    remind_at = CASE
        WHEN answered_at IS NULL AND unsubscribed_at IS NULL THEN CAST(:remind_at AS bigint)
    END,
    available_at = CASE
        WHEN :pending THEN coalesce(CAST(:due_at AS bigint), due_at, 0)
        WHEN answered_at IS NULL AND unsubscribed_at IS NULL THEN CAST(:remind_at AS bigint)
    END,
    claimed_by = NULL, lease_until = NULL
WHERE id = :id AND status = 'claimed' AND claimed_by = :worker;

-- name: next_due
-- When a campaign's next request becomes claimable; NULL when none is Pending or Claimed.
SELECT min(available_at) FROM deliveries WHERE campaign_id = ? AND available_at IS NOT NULL;

-- name: record_engagement
-- What a customer did ({column}: opened_at, clicked_at, answered_at or unsubscribed_at; the
-- first time stays; {opened}: also set opened_at for a click or an answer). An answer or an
-- unsubscribe also ends the reminders of a sent request.
UPDATE deliveries
SET {column} = coalesce({column}, CAST(:at AS bigint)){opened},
    remind_at = CASE WHEN :stop THEN NULL ELSE remind_at END,
    available_at = CASE WHEN :stop AND status = 'sent' THEN NULL ELSE available_at END
WHERE id = :id
RETURNING {delivery_columns};

-- name: query_requests
-- The collection view: newest first by ({time}, seq), the next page after a cursor; {time}
-- is scheduled_at or sent_at, {where} the view's filters joined with AND.
SELECT seq, {time}, {delivery_columns} FROM deliveries
WHERE {where}
ORDER BY {time} DESC, seq DESC
LIMIT :limit;

-- name: upsert_suppression
-- Suppress an address on a channel (its case-folded key), replacing an earlier entry.
INSERT INTO suppressions (channel, address_key, address, reason, at, note)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (channel, address_key) DO UPDATE SET
    address = excluded.address, reason = excluded.reason, at = excluded.at, note = excluded.note;

-- name: add_soft_bounce
-- Count a soft bounce of an address on a channel; returns the new count.
INSERT INTO soft_bounces (channel, address_key, count, last_at) VALUES (?, ?, 1, ?)
ON CONFLICT (channel, address_key) DO UPDATE SET count = soft_bounces.count + 1,
    last_at = excluded.last_at
RETURNING count;

-- name: erase_request
-- An erased contact's request keeps its campaign, channel, segment, status, times and
-- engagement; its recipient's details, address and error text go.
UPDATE deliveries SET email = NULL, phone = NULL, name = NULL, transaction_id = NULL,
    fields = NULL, consents = NULL, chat_id = NULL, address = 'erased:' || id,
    request_key = 'erased:' || id,
    last_error = CASE WHEN last_error IS NULL THEN NULL ELSE 'erased' END
WHERE id = ?;

-- name: erase_answers
-- An erased contact's answers keep their scores; their comments go.
UPDATE answers SET comment = NULL, hook_error = NULL WHERE delivery_id = ?;

-- name: classifications_of_request
-- A request's classifications, to rewrite.
SELECT id, data FROM classifications WHERE request_id = ?;

-- name: update_classification
-- Rewrite a classification.
UPDATE classifications SET data = ? WHERE id = ?;

-- name: add_consent_change
-- Keep a consent given or withdrawn.
INSERT INTO consent_changes (id, channel, address_key, at, data) VALUES (?, ?, ?, ?, ?);

-- name: consent_changes
-- The consent changes of an address on a channel, oldest first.
SELECT data FROM consent_changes WHERE channel = ? AND address_key = ? ORDER BY at, seq;

-- name: forget_consent_changes
-- Forget an address's consent changes (the contact is erased).
DELETE FROM consent_changes WHERE channel = ? AND address_key = ?;

-- name: forget_soft_bounces
-- Forget an address's soft bounces.
DELETE FROM soft_bounces WHERE channel = ? AND address_key = ?;

-- name: get_answer
-- One answer by id.
SELECT {answer_columns} FROM answers WHERE id = ?;

-- name: save_moderation
-- Record a moderator's decision on an answer, replacing an earlier one.
INSERT INTO moderations (answer_id, state, by_whom, at, reason) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (answer_id) DO UPDATE SET state = excluded.state, by_whom = excluded.by_whom,
    at = excluded.at, reason = excluded.reason;

-- name: moderations_of
-- The decisions on some answers ({marks}: one ? per answer id).
SELECT answer_id, state, by_whom, at, reason FROM moderations WHERE answer_id IN ({marks});

-- name: approved_answers
-- Current answers a moderator approved, newest first.
SELECT {answer_columns_a} FROM moderations AS m JOIN answers AS a ON a.id = m.answer_id
WHERE m.state = 'approved' AND a.current = 1
ORDER BY a.at DESC, a.seq DESC LIMIT ?;

-- name: requests_made_before
-- Requests scheduled before a time that still hold personal data, oldest first (retention).
SELECT id FROM deliveries WHERE scheduled_at < ? AND address NOT LIKE 'erased:%'
ORDER BY scheduled_at, seq LIMIT ?;

-- name: clear_comments
-- Remove the comments of some answers given before a time (retention).
UPDATE answers SET comment = NULL
WHERE id IN (SELECT id FROM answers WHERE at < ? AND comment IS NOT NULL LIMIT ?);

-- name: clear_engagement
-- Clear the opened, clicked and delivered times of some requests sent before a time.
UPDATE deliveries SET opened_at = NULL, clicked_at = NULL, delivered_at = NULL
WHERE id IN (
    SELECT id FROM deliveries WHERE sent_at < ?
        AND (opened_at IS NOT NULL OR clicked_at IS NOT NULL OR delivered_at IS NOT NULL)
    LIMIT ?
);

-- name: find_suppressions
-- The suppressions on a channel of some addresses ({marks}: one ? per case-folded address).
SELECT channel, address, reason, at, note FROM suppressions
WHERE channel = ? AND address_key IN ({marks});

-- name: get_suppression
-- The suppression of an address on a channel.
SELECT channel, address, reason, at, note FROM suppressions
WHERE channel = ? AND address_key = ?;

-- name: list_suppressions
-- A page of suppressions (of :channel, or every channel when it is NULL) after a
-- (channel, case-folded address) key, in that order: the primary key's order.
SELECT channel, address, reason, at, note, address_key FROM suppressions
WHERE (CAST(:channel AS text) IS NULL OR channel = CAST(:channel AS text))
    AND (channel, address_key) > (:after_channel, :after_key)
ORDER BY channel, address_key
LIMIT :limit;

-- name: delete_suppression
-- Lift a suppression.
DELETE FROM suppressions WHERE channel = ? AND address_key = ?;

-- name: slot_prepare
-- Make sure a pacing key has a row to lock (a first-ever slot opens at once); waits while
-- another worker is adding the same key, then does nothing.
INSERT INTO pacing (key, next_at) VALUES (?, -9223372036854775807)
ON CONFLICT (key) DO NOTHING;

-- name: slot_next
-- When a pacing key's next slot opens, its row locked until the transaction ends, so two
-- workers on any hosts never take the same slot.
SELECT next_at FROM pacing WHERE key = ? FOR UPDATE;

-- name: slot_set
-- Take a pacing key's slot: its next one opens at the given instant.
INSERT INTO pacing (key, next_at) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET next_at = excluded.next_at;

-- name: record_firing
-- A trigger rule fired for an entity; nothing changes if it already had.
INSERT INTO trigger_firings (rule_id, entity_id, at) VALUES (?, ?, ?)
ON CONFLICT DO NOTHING;

-- name: insert_trigger_rule
-- A trigger rule kept in the store (the rule as JSON).
INSERT INTO trigger_rules (id, data) VALUES (?, ?);

-- name: trigger_rules
-- Every stored trigger rule, oldest first.
SELECT data FROM trigger_rules ORDER BY seq;

-- name: find_trigger_rule
-- One stored trigger rule.
SELECT data FROM trigger_rules WHERE id = ?;

-- name: delete_trigger_rule
-- Forget a stored trigger rule (what it fired for stays in trigger_firings).
DELETE FROM trigger_rules WHERE id = ?;

-- name: retire_answers
-- The request's current answer becomes history before a new one is stored.
UPDATE answers SET current = 0 WHERE delivery_id = ? AND current = 1;

-- name: insert_answer
-- Store an answer.
INSERT INTO answers ({answer_columns}) VALUES ({answer_marks});

-- name: answers_for
-- A request's answers, oldest first.
SELECT {answer_columns} FROM answers WHERE delivery_id = ? ORDER BY seq;

-- name: answer_span
-- The first and last time of the current answers of one survey type: two lookups at the
-- ends of the (type, time) index (one query with both min and max would scan it).
SELECT (SELECT min(at) FROM answers WHERE kind = :kind AND current = 1),
    (SELECT max(at) FROM answers WHERE kind = :kind AND current = 1);

-- name: rollup_sums
-- The rollups of one survey type and slot length (:span) inside ranges (:ranges, a JSON
-- array of [start, end]), summed per range (its position in the array, from 0) and {group};
-- {filters}: further filters, each starting with AND. One primary-key range per range.
SELECT r.ord - 1, {group}, sum(a.n), sum(a.total), sum(a.squares),
    sum(a.top), sum(a.bottom)
FROM json_array_elements(CAST(:ranges AS json)) WITH ORDINALITY AS r (value, ord)
JOIN answer_rollups AS a
    ON a.kind = :kind AND a.span = :span AND a.slot >= CAST(r.value ->> 0 AS bigint)
    AND a.slot < CAST(r.value ->> 1 AS bigint)
WHERE TRUE{filters}
GROUP BY 1, 2;

-- name: edge_sums
-- The current answers of one survey type inside ranges (:ranges, as above), summed per range
-- and {group} ({join}: the join the group needs, e.g. to a request's custom fields;
-- {filters}: further filters). One range of the (type, time) index per range.
SELECT r.ord - 1, {group}, count(*), sum(a.score), sum(a.score * a.score),
    count(*) FILTER (WHERE a.score >= CAST(:top AS integer)),
    count(*) FILTER (WHERE a.score <= CAST(:bottom AS integer))
FROM json_array_elements(CAST(:ranges AS json)) WITH ORDINALITY AS r (value, ord)
JOIN answers AS a
    ON a.kind = :kind AND a.current = 1 AND a.at >= CAST(r.value ->> 0 AS bigint)
    AND a.at < CAST(r.value ->> 1 AS bigint){join}
WHERE TRUE{filters}
GROUP BY 1, 2;

-- name: due_hooks
-- Answers the host's hook has not taken yet and whose retry time has come, oldest first.
SELECT {answer_columns} FROM answers
WHERE hook_done = 0 AND coalesce(hook_next_at, 0) <= ?
ORDER BY seq LIMIT ?;

-- name: finish_hook
-- Record a hook call: done, or failed and to be retried at a time.
UPDATE answers SET hook_done = ?, hook_error = ?, hook_next_at = ?,
    hook_attempts = hook_attempts + ?
WHERE id = ?;

-- name: insert_alert_rule
-- Store a new alert rule (the unique id and name refuse a second one).
INSERT INTO alert_rules (id, name, data) VALUES (?, ?, ?);

-- name: alert_rules
-- Every alert rule, oldest first.
SELECT data FROM alert_rules ORDER BY seq;

-- name: find_alert_rule
-- One alert rule by id or name.
SELECT data FROM alert_rules WHERE id = :key OR name = :key;

-- name: delete_alert_rule
-- Remove an alert rule.
DELETE FROM alert_rules WHERE id = ?;

-- name: delete_rule_alerts
-- Remove the alerts a rule raised.
DELETE FROM alerts WHERE rule_id = ?;

-- name: get_alert
-- One alert by fingerprint.
SELECT data FROM alerts WHERE fingerprint = ?;

-- name: list_alerts
-- Alerts matching {where} (the filters joined with AND), the latest change first.
SELECT data FROM alerts WHERE {where} ORDER BY updated_at DESC;

-- name: save_alert
-- Store an alert, replacing the one with its fingerprint.
INSERT INTO alerts (fingerprint, rule_id, state, updated_at, data) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (fingerprint) DO UPDATE SET rule_id = excluded.rule_id, state = excluded.state,
    updated_at = excluded.updated_at, data = excluded.data;

-- name: delete_alert
-- Forget one alert.
DELETE FROM alerts WHERE fingerprint = ?;

-- name: recent_answers
-- The newest current answers of a type in one group ({group} = :group, or {group} IS NULL
-- when :group is NULL: an equality, so the (type, segment, time) index serves it; {join}: the
-- join the group needs; {where}: further filters joined with AND).
SELECT {answer_columns_a} FROM answers AS a{join}
WHERE a.kind = :kind AND a.current = 1 AND {group_match} AND {where}
ORDER BY a.at DESC LIMIT :limit;

-- name: iter_answers
-- A page of current answers (of :campaign, or all when it is NULL) given in [:since, :until),
-- after the last seq seen, in the order they were recorded.
SELECT seq, {answer_columns} FROM answers
WHERE current = 1 AND (CAST(:campaign AS text) IS NULL OR campaign_id = CAST(:campaign AS text))
    AND at >= :since AND at < :until AND seq > :after
ORDER BY seq LIMIT :limit;

-- name: worst_comments
-- Current answers of :kind in [:since, :until) with a comment, lowest score first, then
-- newest; {filters}: segment and channel filters, each starting with AND. The unary plus
-- keeps the planner off the time index: walking the comments index in score order stops
-- after :limit rows, where a time range would sort every answer of the period.
SELECT {answer_columns} FROM answers
WHERE kind = :kind AND current = 1 AND +at >= :since AND +at < :until
    AND comment IS NOT NULL AND comment <> ''{filters}
ORDER BY score, at DESC, seq DESC LIMIT :limit;

-- name: answer_comments
-- The comments of the current answers of :kind given in [:since, :until) (of :campaign, or
-- all when it is NULL), with their time and {group} ({join}: the join the group needs).
SELECT {group}, a.at, a.comment FROM answers AS a{join}
WHERE a.kind = :kind AND a.current = 1 AND a.at >= :since AND a.at < :until
    AND a.comment IS NOT NULL AND a.comment <> ''
    AND (CAST(:campaign AS text) IS NULL OR a.campaign_id = CAST(:campaign AS text));

-- name: answers_since
-- Current answers given at or after a time, oldest first.
SELECT {answer_columns} FROM answers WHERE current = 1 AND at >= ? ORDER BY at, seq LIMIT ?;

-- name: insert_notification
-- Put a notification in the outbox.
INSERT INTO alert_notifications (id, status, available_at, claimed_by, data)
VALUES (?, ?, ?, ?, ?);

-- name: due_notifications
-- Notifications that may be claimed at :now: pending and due, or claimed with a lease that
-- ran out (both have available_at at or before :now), oldest first.
SELECT id, data FROM alert_notifications
WHERE available_at IS NOT NULL AND available_at <= :now
ORDER BY available_at, seq LIMIT :limit
FOR UPDATE SKIP LOCKED;

-- name: update_notification
-- Write a notification's new state (a claim, or what became of it).
UPDATE alert_notifications SET status = ?, available_at = ?, claimed_by = ?, data = ?
WHERE id = ?;

-- name: get_notification
-- One notification by id, locked until its outcome is written.
SELECT data FROM alert_notifications WHERE id = ? FOR UPDATE;

-- name: get_notification_group
-- What is kept of one receiver's group of alerts.
SELECT due_at, sent_at FROM notification_groups WHERE receiver = ? AND group_key = ?;

-- name: save_notification_group
-- Keep a receiver's group of alerts, replacing what was kept.
INSERT INTO notification_groups (receiver, group_key, due_at, sent_at) VALUES (?, ?, ?, ?)
ON CONFLICT (receiver, group_key) DO UPDATE SET due_at = excluded.due_at,
    sent_at = excluded.sent_at;

-- name: list_notifications
-- The notifications matching {where} (a status filter, or 1 = 1), oldest first.
SELECT data FROM alert_notifications WHERE {where} ORDER BY seq;

-- name: save_silence
-- Store a silence, replacing the one with its id.
INSERT INTO alert_silences (id, starts_at, ends_at, data) VALUES (?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at,
    data = excluded.data;

-- name: list_silences
-- Silences by start; only those active at :at when it is not NULL.
SELECT data FROM alert_silences
WHERE CAST(:at AS bigint) IS NULL
    OR (starts_at <= CAST(:at AS bigint) AND CAST(:at AS bigint) < ends_at)
ORDER BY starts_at;

-- name: delete_silence
-- Remove a silence.
DELETE FROM alert_silences WHERE id = ?;

-- name: insert_task
-- Store a new task (the unique id refuses a second one).
INSERT INTO tasks (id, status, assignee, deadline, created_at, version, data)
VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: get_task
-- One task by id, with its stored version.
SELECT data, version FROM tasks WHERE id = ?;

-- name: update_task
-- Replace a task if its stored version is still :expected.
UPDATE tasks SET status = :status, assignee = :assignee, deadline = :deadline,
    version = :version, data = :data
WHERE id = :id AND version = :expected;

-- name: list_tasks
-- Tasks matching {where} (the filters joined with AND), by deadline (none last), oldest first.
SELECT data FROM tasks WHERE {where}
ORDER BY deadline IS NULL, coalesce(deadline, created_at), created_at, seq;

-- name: insert_classification
-- Record a classification (the request must exist).
INSERT INTO classifications (id, request_id, campaign_id, at, data) VALUES (?, ?, ?, ?, ?);

-- name: classifications
-- Classifications of a request and/or a campaign (either NULL for any), oldest first.
SELECT data FROM classifications
WHERE (CAST(:request AS text) IS NULL OR request_id = CAST(:request AS text))
    AND (CAST(:campaign AS text) IS NULL OR campaign_id = CAST(:campaign AS text))
ORDER BY at, seq;

-- name: clear_rollups
-- Empty the score rollups (before filling them again).
DELETE FROM answer_rollups;

-- name: fill_rollups
-- Sum the current answers into the hour and day rollups (which must be empty).
INSERT INTO answer_rollups
SELECT a.kind, s.span, a.at - (a.at % s.span + s.span) % s.span AS slot, a.campaign_id,
    a.channel, coalesce('=' || a.segment, '') AS segment_key, count(*), sum(a.score),
    sum(a.score * a.score),
    count(*) FILTER (WHERE (a.kind = 'nps' AND a.score >= 9) OR (a.kind = 'csat' AND a.score >= 4)),
    count(*) FILTER (WHERE a.kind = 'nps' AND a.score <= 6)
FROM answers AS a CROSS JOIN rollup_spans AS s
WHERE a.current = 1
GROUP BY 1, 2, 3, 4, 5, 6;

-- name: request_funnel
-- The requests first sent in [?, ?) per segment, and how many of them were opened and
-- answered.
SELECT segment, COUNT(*), COUNT(opened_at), COUNT(answered_at) FROM deliveries
WHERE sent_at >= ? AND sent_at < ?
GROUP BY segment;

-- name: insert_report
-- Store a new report definition.
INSERT INTO reports (id, name, data) VALUES (?, ?, ?);

-- name: get_report
-- One report definition by id.
SELECT data FROM reports WHERE id = ?;

-- name: get_report_by_name
-- One report definition by its unique name.
SELECT data FROM reports WHERE name = ?;

-- name: update_report
-- Replace a report definition.
UPDATE reports SET name = ?, data = ? WHERE id = ?;

-- name: list_reports
-- Every report definition, by name.
SELECT data FROM reports ORDER BY name;

-- name: delete_report
-- Delete a report; its outbox entries go with it (ON DELETE CASCADE).
DELETE FROM reports WHERE id = ?;

-- name: insert_report_run
-- Put a run in the outbox; one for the same report, recipient and period is skipped.
INSERT INTO report_runs (id, report_id, recipient, period, status, available_at, claimed_by, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING;

-- name: due_report_runs
-- Runs that may be claimed at :now: pending and due, or claimed with a lease that ran out
-- (both have available_at at or before :now), earliest first.
SELECT id, data FROM report_runs
WHERE available_at IS NOT NULL AND available_at <= :now
ORDER BY available_at, seq LIMIT :limit
FOR UPDATE SKIP LOCKED;

-- name: update_report_run
-- Write a run's new state (a claim, or what became of it).
UPDATE report_runs SET status = ?, available_at = ?, claimed_by = ?, data = ? WHERE id = ?;

-- name: get_report_run
-- One run by id, locked until its outcome is written.
SELECT data FROM report_runs WHERE id = ? FOR UPDATE;

-- name: list_report_runs
-- The runs matching {where} (filters joined with AND, or 1 = 1), in the order planned.
SELECT data FROM report_runs WHERE {where} ORDER BY seq;
