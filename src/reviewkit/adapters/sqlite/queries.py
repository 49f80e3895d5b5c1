"""The SQLite store's statements, loaded once from ``queries.sql`` beside this module.

``queries.NAME`` is the statement of the block ``-- name: name`` (any letter case);
:data:`DESCRIPTIONS` holds each block's description.
"""

from __future__ import annotations

import re
from importlib import resources

__all__ = ["DELIVERY_COLUMNS", "DESCRIPTIONS", "STATEMENTS"]

DELIVERY_COLUMNS = (
    "id, campaign_id, channel, address, request_key, status, available_at, due_at, attempts, "
    "last_error, sent_at, claimed_by, lease_until, email, phone, name, transaction_id, "
    "timezone, fields, sender, created_at, scheduled_at, segment, consents, reason, "
    "remind_at, reminders_sent, opened_at, clicked_at, answered_at, unsubscribed_at, chat_id"
)
ANSWER_COLUMNS = (
    "id, delivery_id, campaign_id, kind, score, comment, at, channel, segment, current, "
    "hook_done, hook_attempts, hook_error, hook_next_at"
)
_FILLED_ON_LOAD = {
    "{delivery_columns}": DELIVERY_COLUMNS,
    "{delivery_marks}": ", ".join("?" * (DELIVERY_COLUMNS.count(",") + 1)),
    "{answer_columns}": ANSWER_COLUMNS,
    "{answer_columns_a}": ", ".join(f"a.{c.strip()}" for c in ANSWER_COLUMNS.split(",")),
    "{answer_marks}": ", ".join("?" * (ANSWER_COLUMNS.count(",") + 1)),
}
_BLOCK = re.compile(r"^-- name: (\w+)\n((?:--[^\n]*\n)*)(.*?)(?=^-- name: |\Z)", re.M | re.S)


def _load() -> tuple[dict[str, str], dict[str, str]]:
    text = (resources.files("reviewkit.adapters.sqlite") / "queries.sql").read_text("utf-8")
    statements: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for name, comment, sql in _BLOCK.findall(text):
        if name in statements:
            raise RuntimeError(f"queries.sql names {name!r} twice")
        for placeholder, value in _FILLED_ON_LOAD.items():
            sql = sql.replace(placeholder, value)
        statements[name] = sql.strip().rstrip(";")
        descriptions[name] = " ".join(line[2:].strip() for line in comment.splitlines())
    return statements, descriptions


STATEMENTS, DESCRIPTIONS = _load()
"""Statement and description of every block, by name."""


def __getattr__(name: str) -> str:
    try:
        return STATEMENTS[name.lower()]
    except KeyError:
        raise AttributeError(f"queries.sql has no block named {name.lower()!r}") from None
