"""The PostgreSQL store, for many dispatchers on many hosts (``reviewkit[postgres]``)."""

from reviewkit.adapters.postgres.store import SCHEMA_VERSION, NotifiedClock, PostgresStore

__all__ = ["SCHEMA_VERSION", "NotifiedClock", "PostgresStore"]
