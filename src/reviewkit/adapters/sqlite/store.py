"""A :class:`~reviewkit.ports.Store` on one SQLite file.

- WAL journal, a busy timeout, foreign keys on; the schema is created and upgraded by the
  numbered scripts in ``migrations/``, and the version is recorded in ``PRAGMA user_version``.
  A database written by a newer reviewkit is refused, never downgraded.
- Every method is atomic; :meth:`SQLiteStore.transaction` groups several into one
  ``BEGIN IMMEDIATE … COMMIT`` (rolled back if the block raises).
- Several processes may share one file: claims are a single ``UPDATE … RETURNING`` under
  SQLite's write lock, so two workers never hold the same request.
- Faults of the file system or of other processes (a full disk, a read-only file, a write lock
  held past the busy timeout) raise :class:`~reviewkit.errors.StorageError` subclasses after
  the call's transaction is rolled back; ``sqlite3`` errors never escape.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reviewkit.adapters.relational import (
    RelationalStore,
    load_migrations,
)
from reviewkit.adapters.sqlite import queries as q
from reviewkit.adapters.sqlite.queries import QUERIES
from reviewkit.errors import (
    NotFoundError,
    StorageBusyError,
    StorageError,
    StorageFullError,
    StorageReadOnlyError,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "StorageError"]

log = logging.getLogger("reviewkit.storage")


def _migrations() -> list[tuple[int, str]]:
    return load_migrations("reviewkit.adapters.sqlite")


SCHEMA_VERSION = max(number for number, _ in _migrations())
"""The schema version this reviewkit writes."""


_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR = 5, 6, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26


def _storage_error(
    exc: sqlite3.Error, path: str, timeout: float, *, opening: bool = False
) -> StorageError:
    """The reviewkit error for an ``sqlite3`` error on the database at *path*."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StorageBusyError(
            f"database {path} is locked: another process held its write lock for longer "
            f"than the {timeout:g} s busy timeout; nothing was changed, try again"
        )
    if primary == _SQLITE_FULL:
        return StorageFullError(
            f"database {path}: the disk is full ({exc}); nothing of this change was written, "
            "free some space and try again"
        )
    if primary == _SQLITE_READONLY:
        return StorageReadOnlyError(
            f"database {path} cannot be written ({exc}): check the permissions of the file "
            "and of its folder, which must allow creating the -wal and -shm files beside it"
        )
    if primary == _SQLITE_IOERR:
        free = _free_bytes(path)
        if free is not None and free < 1024 * 1024:
            return StorageFullError(
                f"database {path}: an I/O error with {free} bytes left on its disk ({exc}); "
                "free some space and try again"
            )
        return StorageError(f"database {path}: I/O error ({exc}); nothing was changed")
    if primary == _SQLITE_CANTOPEN:
        return StorageError(
            f"cannot open reviewkit database {path} ({exc}): check that its folder exists "
            "and can be written (the -wal and -shm files are created beside it)"
        )
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StorageError(f"{path} is not a reviewkit database or is damaged ({exc})")
    if opening:
        return StorageError(f"cannot open reviewkit database {path}: {exc}")
    return StorageError(f"database {path}: {exc}")


def _free_bytes(path: str) -> int | None:
    try:
        return shutil.disk_usage(Path(path).resolve().parent).free
    except OSError:
        return None


class SQLiteStore(RelationalStore):
    """Campaigns and requests in the SQLite database at *path* (created if missing).

    :param path: a file path, or ``":memory:"`` for a private in-memory database.
    :param timeout: how long to wait for another process's write lock, in seconds; past it
        a call raises :class:`~reviewkit.errors.StorageBusyError`.
    :param readonly: open an existing database for reading only: nothing is created or
        upgraded, every write raises :class:`~reviewkit.errors.StorageReadOnlyError`, and a
        file on a read-only folder or mount can be read. A missing file raises
        :class:`~reviewkit.errors.NotFoundError`.

    One store object may be shared by threads (calls are serialised); for parallelism use
    several processes, each with its own store on the same file.
    """

    _q = QUERIES
    _integrity = sqlite3.IntegrityError
    _email_match = "email = :email COLLATE NOCASE"
    _field_group = "json_extract(d.fields, :field_path)"

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, readonly: bool = False
    ) -> None:
        self.path = str(path) if str(path) == ":memory:" else str(Path(path))
        self.readonly = readonly
        self._timeout = timeout
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._db = self._connect()
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._db.execute("PRAGMA foreign_keys = ON")
            # 64 MiB of page cache (the default is 2 MiB): a million requests carry ten
            # indexes, and inserts into them thrash a small cache.
            self._db.execute("PRAGMA cache_size = -65536")
            if readonly:
                self._check_readable()
                return
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            raise _storage_error(exc, self.path, timeout, opening=True) from exc

    def _connect(self) -> sqlite3.Connection:
        def connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
            return sqlite3.connect(
                target,
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,
                uri=uri,
            )

        if not self.readonly or self.path == ":memory:":
            return connect(self.path)
        if not Path(self.path).is_file():
            raise NotFoundError(f"no reviewkit database at {self.path}")
        base = Path(self.path).resolve().as_uri()
        db = connect(f"{base}?mode=ro", uri=True)
        try:
            db.execute("PRAGMA schema_version").fetchone()
        except sqlite3.OperationalError:
            # A database in WAL mode needs its -shm file; on a read-only folder or mount that
            # cannot be created, and nothing can be writing there, so read it as immutable.
            db.close()
            db = connect(f"{base}?mode=ro&immutable=1", uri=True)
        return db

    def _check_readable(self) -> None:
        current = self._refuse_newer()
        if current < SCHEMA_VERSION:
            raise StorageError(
                f"database {self.path} has schema version {current} and needs upgrading to "
                f"{SCHEMA_VERSION}, which a read-only open cannot do: open it once for writing"
            )

    def _refuse_newer(self) -> int:
        """The file's schema version, refused when a newer reviewkit wrote it."""
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"database {self.path} has schema version {current}, newer than this "
                f"reviewkit's {SCHEMA_VERSION}: upgrade reviewkit to open it"
            )
        return current

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # -- schema ---------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        if self.schema_version == SCHEMA_VERSION:
            return  # opening needs no write lock: a worker may start while another writes
        with self.transaction():
            current = self._refuse_newer()
            for number, script in _migrations():
                if number > current:
                    log.info("upgrading %s to schema %d", self.path, number)
                    for statement in _statements(script):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {number}")
            if current < _ROLLUPS_SINCE <= SCHEMA_VERSION:
                self._db.execute(q.FILL_ROLLUPS)

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock, self._faults():
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            if self.readonly:
                raise StorageReadOnlyError(f"database {self.path} was opened read-only")
            self._drop_orphan()
            self._depth = 1
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield
                self._db.execute("COMMIT")
            except BaseException:
                # SQLite has already rolled back after some errors (a full disk).
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0

    @contextmanager
    def _erasing(self) -> Iterator[None]:
        """Erase so that nothing of the old values stays in the file: freed and overwritten
        space is zeroed (``secure_delete``), and the write-ahead log, which still holds the
        pages as they were, is emptied once the erasure is committed."""
        with self._lock, self._faults():
            if self._depth:  # inside a caller's transaction: it commits, not us
                yield
                return
            self._db.execute("PRAGMA secure_delete = ON")
            try:
                yield
            finally:
                self._db.execute("PRAGMA secure_delete = OFF")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def _faults(self) -> Iterator[None]:
        """Raise ``sqlite3`` errors from the block as reviewkit storage errors."""
        try:
            yield
        except sqlite3.Error as exc:
            raise _storage_error(exc, self.path, self._timeout) from exc

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock, self._faults():
            if not self._depth:
                self._drop_orphan()  # a write of one statement must not land inside it
            yield

    def _drop_orphan(self) -> None:
        """Roll back a transaction a signal left open between BEGIN and the code that would
        have ended it: outside :meth:`transaction` nobody is inside one."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        return self._db.execute(sql, params)

    def _insert_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        before = self._db.total_changes
        self._db.executemany(sql, rows)
        return self._db.total_changes - before

    def _plan(self, sql: str, params: Mapping[str, Any]) -> list[str]:
        return [row[3] for row in self._db.execute("EXPLAIN QUERY PLAN " + sql, params)]


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (a trigger's body holds several)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line.split("--", 1)[0]
        if pending.strip() and sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return statements


_ROLLUPS_SINCE = 11
