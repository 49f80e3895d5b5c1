"""The SQLite store's statements, loaded once from ``queries.sql`` beside this module.

``queries.NAME`` is the statement of the block ``-- name: name`` (any letter case);
:data:`DESCRIPTIONS` holds each block's description.
"""

from __future__ import annotations

from reviewkit.adapters.relational import ANSWER_COLUMNS, DELIVERY_COLUMNS, load_queries

__all__ = ["ANSWER_COLUMNS", "DELIVERY_COLUMNS", "DESCRIPTIONS", "QUERIES", "STATEMENTS"]

QUERIES = load_queries("reviewkit.adapters.sqlite")
STATEMENTS = QUERIES.statements
"""Statement of every block, by name."""
DESCRIPTIONS = QUERIES.descriptions
"""Description of every block, by name."""


def __getattr__(name: str) -> str:
    return str(getattr(QUERIES, name))
