"""Every SQL statement the SQLite store runs, by name."""

from __future__ import annotations

DELIVERY_COLUMNS = (
    "id, campaign_id, channel, address, request_key, status, available_at, due_at, attempts, "
    "last_error, sent_at, claimed_by, lease_until, email, phone, name, transaction_id, "
    "timezone, fields, sender, created_at, scheduled_at, segment, consents, reason, "
    "remind_at, reminders_sent, opened_at, clicked_at, answered_at, unsubscribed_at, chat_id"
)
_COLUMN_COUNT = DELIVERY_COLUMNS.count(",") + 1

INSERT_CAMPAIGN = """
INSERT INTO campaigns (id, name, status, version, created_at, data)
VALUES (?, ?, ?, ?, ?, ?)
"""

GET_CAMPAIGN = "SELECT id, name, status, version, created_at, data FROM campaigns WHERE id = ?"

GET_CAMPAIGN_BY_NAME = (
    "SELECT id, name, status, version, created_at, data FROM campaigns WHERE name = ?"
)

UPDATE_CAMPAIGN = """
UPDATE campaigns SET name = ?, status = ?, version = version + 1, data = ?
WHERE id = ? AND version = ?
"""

CAMPAIGN_VERSION = "SELECT version FROM campaigns WHERE id = ?"

DELETE_CAMPAIGN = "DELETE FROM campaigns WHERE id = ?"

LIST_CAMPAIGNS = (
    "SELECT id, name, status, version, created_at, data FROM campaigns ORDER BY created_at, rowid"
)

# Completed campaigns pile up over the years: the dispatcher asks only for active ones.
LIST_CAMPAIGNS_IN = (
    "SELECT id, name, status, version, created_at, data FROM campaigns "
    "WHERE status IN ({marks}) ORDER BY created_at, rowid"
)

INSERT_DELIVERY = f"""
INSERT INTO deliveries ({DELIVERY_COLUMNS})
VALUES ({", ".join("?" * _COLUMN_COUNT)})
ON CONFLICT DO NOTHING
"""

GET_DELIVERY = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?"

ITER_DELIVERIES = (
    f"SELECT seq, {DELIVERY_COLUMNS} FROM deliveries WHERE campaign_id = ? AND seq > ? "
    "ORDER BY seq LIMIT ?"
)

COUNT_DELIVERIES = "SELECT status, count(*) FROM deliveries WHERE campaign_id = ? GROUP BY status"

# Claim, in two statements of one write transaction: the due rows by the partial index in
# claim order (earliest claimable first, then insertion), then those rows taken. RETURNING
# gives rows in no promised order, so the store puts them back in the first one's.
DUE_FOR_CLAIM = """
SELECT seq, id FROM deliveries
WHERE campaign_id = :campaign AND available_at IS NOT NULL AND available_at <= :now
ORDER BY available_at, seq
LIMIT :limit
"""
CLAIM_DELIVERIES = f"""
UPDATE deliveries
SET status = 'claimed', claimed_by = :worker, lease_until = :lease, available_at = :lease
WHERE seq IN (SELECT value FROM json_each(:seqs))
RETURNING {DELIVERY_COLUMNS}
"""

# The first send time stays; a reminder is only scheduled while nobody answered or
# unsubscribed (either may have happened while the reminder was being sent).
# Renew a worker's claims: only rows it still holds, whatever their lease says now.
RENEW_LEASES = """
UPDATE deliveries SET lease_until = :lease, available_at = :lease
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'claimed' AND claimed_by = :worker
RETURNING id
"""

# Record a claim holder's outcome (the rules of reviewkit.domain.delivery.apply_outcome);
# no row changes when the worker no longer holds the claim.
FINISH_DELIVERY = """
UPDATE deliveries
SET status = :status, attempts = attempts + :counted, last_error = :error,
    sent_at = coalesce(sent_at, :sent_at), due_at = coalesce(:due_at, due_at),
    reason = coalesce(:reason, reason), reminders_sent = reminders_sent + :reminded,
    remind_at = CASE WHEN answered_at IS NULL AND unsubscribed_at IS NULL THEN :remind_at END,
    available_at = CASE
        WHEN :pending THEN coalesce(:due_at, due_at, 0)
        WHEN answered_at IS NULL AND unsubscribed_at IS NULL THEN :remind_at
    END,
    claimed_by = NULL, lease_until = NULL
WHERE id = :id AND status = 'claimed' AND claimed_by = :worker
"""

NEXT_DUE = (
    "SELECT min(available_at) FROM deliveries WHERE campaign_id = ? AND available_at IS NOT NULL"
)

# An answer or an unsubscribe also ends the reminders of a sent request.
RECORD_ENGAGEMENT = f"""
UPDATE deliveries
SET {{column}} = coalesce({{column}}, :at){{opened}},
    remind_at = CASE WHEN :stop THEN NULL ELSE remind_at END,
    available_at = CASE WHEN :stop AND status = 'sent' THEN NULL ELSE available_at END
WHERE id = :id
RETURNING {DELIVERY_COLUMNS}
"""

# The collection view: newest first by (time, seq), the next page after a cursor.
QUERY_DELIVERIES = f"""
SELECT seq, {{time}}, {DELIVERY_COLUMNS} FROM deliveries
WHERE {{where}}
ORDER BY {{time}} DESC, seq DESC
LIMIT :limit
"""

UPSERT_SUPPRESSION = """
INSERT INTO suppressions (channel, address_key, address, reason, at, note)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (channel, address_key) DO UPDATE SET
    address = excluded.address, reason = excluded.reason, at = excluded.at, note = excluded.note
"""

GET_SUPPRESSION = (
    "SELECT channel, address, reason, at, note FROM suppressions "
    "WHERE channel = ? AND address_key = ?"
)

DELETE_SUPPRESSION = "DELETE FROM suppressions WHERE channel = ? AND address_key = ?"

SLOT_NEXT = "SELECT next_at FROM pacing WHERE key = ?"

SLOT_SET = """
INSERT INTO pacing (key, next_at) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET next_at = excluded.next_at
"""

ANSWER_COLUMNS = (
    "id, delivery_id, campaign_id, kind, score, comment, at, channel, segment, current, "
    "hook_done, hook_attempts, hook_error, hook_next_at"
)

RETIRE_ANSWERS = "UPDATE answers SET current = 0 WHERE delivery_id = ? AND current = 1"

INSERT_ANSWER = f"""
INSERT INTO answers ({ANSWER_COLUMNS}) VALUES ({", ".join("?" * 14)})
"""

ANSWERS_FOR = f"SELECT {ANSWER_COLUMNS} FROM answers WHERE delivery_id = ? ORDER BY seq"

ANSWER_SPAN = "SELECT min(at), max(at) FROM answers WHERE kind = ? AND current = 1"

# The sums of one group of answers; the caller adds the WHERE and GROUP BY.
ANSWER_SUMS = (
    "count(*), total(score), total(score * score), total(score >= :top), total(score <= :bottom)"
)

DUE_HOOKS = f"""
SELECT {ANSWER_COLUMNS} FROM answers
WHERE hook_done = 0 AND coalesce(hook_next_at, 0) <= ?
ORDER BY seq LIMIT ?
"""

FINISH_HOOK = """
UPDATE answers SET hook_done = ?, hook_error = ?, hook_next_at = ?,
    hook_attempts = hook_attempts + ?
WHERE id = ?
"""
