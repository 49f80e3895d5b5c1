"""The SQLite store: reviewkit's embedded default for everything that persists."""

from reviewkit.adapters.sqlite.store import SCHEMA_VERSION, SQLiteStore

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]
