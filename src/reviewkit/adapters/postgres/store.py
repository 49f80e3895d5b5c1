"""A :class:`~reviewkit.ports.Store` on PostgreSQL, for many dispatchers on many hosts.

- psycopg 3 with its connection pool; install with ``pip install 'reviewkit[postgres]'``.
- The schema is created and upgraded by the numbered scripts in ``migrations/`` under a
  transaction-level advisory lock, so hosts starting at once migrate once; the version is
  kept in the ``reviewkit_schema`` table. A database written by a newer reviewkit is refused.
- Every method is atomic; :meth:`PostgresStore.transaction` groups several into one
  transaction (rolled back if the block raises).
- Claims lock their rows with ``FOR UPDATE SKIP LOCKED``: workers on any number of hosts take
  disjoint requests without waiting for each other. Pacing slots are rows locked while a
  worker takes them, so a campaign's interval and an account's rate hold across hosts.
- :meth:`PostgresStore.wait_for_due` sleeps until requests are added, become due again or
  are finished (``LISTEN``/``NOTIFY``), so an idle dispatcher needs no polling to start at
  once (:class:`NotifiedClock`).
- Faults of the server or the network raise :class:`~reviewkit.errors.StorageError`
  subclasses; psycopg errors never escape. A connection broken by a server restart is
  replaced on the next call.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

from reviewkit.adapters.clock import SystemClock
from reviewkit.adapters.relational import (
    RelationalStore,
    _request_from_row,
    load_migrations,
    load_queries,
    redacted,
)
from reviewkit.domain.instants import as_utc
from reviewkit.domain.request import Request
from reviewkit.domain.window import epoch_micros
from reviewkit.errors import (
    ConfigurationError,
    StorageBusyError,
    StorageError,
    StorageFullError,
    StorageReadOnlyError,
    StorageUnavailableError,
)

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ConfigurationError(
        "the PostgreSQL store needs psycopg 3 and its pool: pip install 'reviewkit[postgres]'"
    ) from exc

__all__ = ["SCHEMA_VERSION", "NotifiedClock", "PostgresStore"]

log = logging.getLogger("reviewkit.storage")

QUERIES = load_queries("reviewkit.adapters.postgres")

_MIGRATION_LOCK = 0x7265766965776B  # "reviewk": the advisory lock that serialises upgrades
_DUE_CHANNEL = "reviewkit_due"


def _migrations() -> list[tuple[int, str]]:
    return load_migrations("reviewkit.adapters.postgres")


SCHEMA_VERSION = max(number for number, _ in _migrations())
"""The PostgreSQL schema version this reviewkit writes."""

_UPPER, _LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=1024)
def _psycopg_sql(sql: str) -> str:
    """*sql* with ``?`` and ``:name`` parameters written as psycopg's ``%s`` and ``%(name)s``."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%")).replace("?", "%s")


def _storage_error(error: psycopg.Error, where: str) -> StorageError:
    """The reviewkit error for a psycopg error on the database *where*, in one line."""
    exc = " ".join(str(error).split())
    if isinstance(error, pg_errors.DiskFull | pg_errors.OutOfMemory):
        return StorageFullError(
            f"database {where}: the server is out of space ({exc}); nothing of this change "
            "was written, free some space and try again"
        )
    if isinstance(error, pg_errors.ReadOnlySqlTransaction | pg_errors.InsufficientPrivilege):
        return StorageReadOnlyError(f"database {where} cannot be written: {exc}")
    if isinstance(
        error,
        pg_errors.LockNotAvailable
        | pg_errors.QueryCanceled
        | pg_errors.DeadlockDetected
        | pg_errors.SerializationFailure,
    ):
        return StorageBusyError(f"database {where} is busy ({exc}); nothing was changed, try again")
    if isinstance(error, psycopg.OperationalError):
        return StorageUnavailableError(
            f"database {where} cannot be reached ({exc}); nothing was changed: "
            "check that the server runs and accepts connections, then try again"
        )
    return StorageError(f"database {where}: {exc}")


class PostgresStore(RelationalStore):
    """Campaigns and requests in the PostgreSQL database at *url*.

    :param url: a libpq connection string or URL, ``postgresql://user:password@host/db``.
    :param pool_size: the most connections this store holds open at once.
    :param timeout: how long to wait for a connection (a busy pool, a server starting up),
        and for another transaction's lock, in seconds; past it a call raises
        :class:`~reviewkit.errors.StorageBusyError` (or
        :class:`~reviewkit.errors.StorageError` when the server cannot be reached).

    One store object may be shared by threads; each call borrows a pooled connection. Start
    one store per process: every dispatcher process on every host may share one database.
    """

    _q = QUERIES
    _integrity = psycopg.IntegrityError
    # ASCII letters only, as SQLite's NOCASE: every store finds the same addresses.
    _email_match = (
        f"translate(email, '{_UPPER}', '{_LOWER}') = translate(:email, '{_UPPER}', '{_LOWER}')"
    )
    _field_group = "(CAST(d.fields AS jsonb) ->> :field_path)"

    def __init__(self, url: str, *, pool_size: int = 4, timeout: float = 30.0) -> None:
        self.url = url
        self._where = redacted(url)
        self._timeout = timeout
        self._local = threading.local()
        self._listen_lock = threading.Lock()
        self._listener: psycopg.Connection[Any] | None = None
        options: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(1, int(timeout)),
            "options": f"-c lock_timeout={int(timeout * 1000)}",
        }
        try:  # by hand: the reason a first connection fails is the operator's answer
            first = psycopg.connect(url, **options)
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split())
            raise StorageUnavailableError(
                f"cannot connect to PostgreSQL database {self._where}: {reason}"
            ) from None
        with first, self._faults():
            self._migrate(first)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            timeout=timeout,
            kwargs=options,
            open=False,
            name="reviewkit",
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise StorageUnavailableError(
                f"cannot connect to PostgreSQL database {self._where} within {timeout:g} s: "
                "check the address, the credentials and that the server runs"
            ) from exc

    def close(self) -> None:
        """Close every pooled connection (and the one listening for due requests)."""
        with self._listen_lock:
            self._close_listener()
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r})"

    # -- schema ---------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the database (0 for an empty one)."""
        with self._reading():
            return self._version()

    def _version(self) -> int:
        found = self._execute("SELECT to_regclass('reviewkit_schema') IS NOT NULL").fetchone()[0]
        if not found:
            return 0
        return int(self._execute("SELECT version FROM reviewkit_schema").fetchone()[0])

    def _migrate(self, connection: psycopg.Connection[Any]) -> None:
        """Bring the schema up to date on *connection* (the store's first)."""
        self._local.connection = connection
        try:
            if self._refuse_newer() == SCHEMA_VERSION:
                return
            # A session lock taken before the transaction: the transaction then starts with
            # the catalog as the host that held the lock left it.
            connection.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            try:
                with connection.transaction():
                    self._upgrade(connection)
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
        finally:
            self._local.connection = None

    def _upgrade(self, connection: psycopg.Connection[Any]) -> None:
        current = self._refuse_newer()  # another host may have upgraded meanwhile
        if current == 0:
            connection.execute("CREATE TABLE reviewkit_schema (version integer NOT NULL)")
            connection.execute("INSERT INTO reviewkit_schema VALUES (0)")
        for number, script in _migrations():
            if number > current:
                log.info("upgrading %s to schema %d", self._where, number)
                connection.execute(script.encode())  # several statements, no parameters
                connection.execute("UPDATE reviewkit_schema SET version = %s", (number,))

    def _refuse_newer(self) -> int:
        """The database's schema version, refused when a newer reviewkit wrote it."""
        with self._reading():
            current = self._version()
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"database {self._where} has schema version {current}, newer than this "
                f"reviewkit's {SCHEMA_VERSION}: upgrade reviewkit to open it"
            )
        return current

    # -- connections and transactions -----------------------------------------------------

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[None]:
        if getattr(self._local, "connection", None) is not None:
            yield  # joins the transaction (or the reading) this thread is in
            return
        with self._faults(), self._pool.connection() as connection:
            self._local.connection = connection
            try:
                if write:
                    with connection.transaction():
                        yield
                else:
                    yield
            finally:
                self._local.connection = None

    def transaction(self) -> AbstractContextManager[None]:
        return self._connection(write=True)

    def _reading(self) -> AbstractContextManager[None]:
        return self._connection(write=False)

    @contextmanager
    def _faults(self) -> Iterator[None]:
        """Raise psycopg errors from the block as reviewkit storage errors."""
        try:
            yield
        except PoolTimeout as exc:
            raise StorageUnavailableError(
                f"database {self._where}: no connection came free within {self._timeout:g} s "
                "(the pool is busy or the server cannot be reached); nothing was changed"
            ) from exc
        except psycopg.Error as exc:
            raise _storage_error(exc, self._where) from exc

    def _execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        if not params:  # sent as written: a % is the modulo operator, not a placeholder
            return self._local.connection.execute(sql.encode())
        return self._local.connection.execute(_psycopg_sql(sql).encode(), params)

    def _insert_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        cursor = self._local.connection.cursor()
        cursor.executemany(_psycopg_sql(sql).encode(), list(rows))
        return max(0, int(cursor.rowcount))

    # -- what only PostgreSQL does --------------------------------------------------------

    def claim_requests(
        self,
        campaign_id: str,
        *,
        now: datetime,
        limit: int,
        worker_id: str,
        lease_until: datetime,
    ) -> list[Request]:
        params = {
            "campaign": campaign_id,
            "now": epoch_micros(now),
            "limit": limit,
            "worker": worker_id,
            "lease": epoch_micros(lease_until),
        }
        with self._reading():  # one statement: atomic without a BEGIN and COMMIT round trip
            rows = self._execute(self._q.CLAIM_DUE, params).fetchall()
        rows.sort(key=lambda row: (row[0], row[1]))
        return [_request_from_row(row[2:]) for row in rows]

    def _field_param(self, name: str) -> str:
        return name  # the key of the JSON object, bound as a parameter

    def _group_match(self, column: str | None, group: str | None) -> str:
        # An equality, not IS NOT DISTINCT FROM, which no index serves.
        return f"{column} IS NULL" if group is None else f"{column} = CAST(:group AS text)"

    def _plan(self, sql: str, params: Mapping[str, Any]) -> list[str]:
        return [row[0] for row in self._execute("EXPLAIN " + sql, params)]

    def listen(self) -> None:
        """Start listening for due requests now (idempotent): notices sent from now on are
        kept for the next :meth:`wait_for_due`, however late it comes."""
        with self._listen_lock, self._faults():
            self._listening()

    def _listening(self) -> psycopg.Connection[Any]:
        if self._listener is None or self._listener.closed:
            self._listener = psycopg.connect(
                self.url, autocommit=True, connect_timeout=max(1, int(self._timeout))
            )
            self._listener.execute(f"LISTEN {_DUE_CHANNEL}")
        return self._listener

    def wait_for_due(self, timeout: float) -> bool:
        """Wait up to *timeout* seconds for requests to be added, to become due again or to be
        finished, by any process on any host; True when some were, False on timeout.

        The store listens on a connection of its own from :meth:`listen` (or the first wait)
        on, so a notice sent between two waits is not lost: the next wait returns at once.
        """
        with self._listen_lock, self._faults():
            try:
                listener = self._listening()
                woken = False
                for _ in listener.notifies(timeout=timeout, stop_after=1):
                    woken = True
                if woken:  # the notices that came with it wake nobody a second time
                    for _ in listener.notifies(timeout=0.0):
                        pass
                return woken
            except psycopg.Error:
                self._close_listener()
                raise

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None


class NotifiedClock(SystemClock):
    """The machine's clock, whose sleeps end early when requests are added to the store's
    database, become due again or are finished (``LISTEN``/``NOTIFY``), whichever process or
    host did it.

    Give it to a :class:`~reviewkit.Dispatcher` on a :class:`PostgresStore`: an idle worker
    starts on new requests at once instead of at its next poll. While the server cannot be
    reached it sleeps as the plain clock does.
    """

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        try:  # from now on: what happens before the first sleep wakes it too
            store.listen()
        except StorageError as exc:
            log.debug("cannot listen for due requests yet: %s", exc)

    def sleep_until(self, instant: datetime) -> None:
        while True:
            delay = (as_utc(instant) - self.now()).total_seconds()
            if delay <= 0:
                return
            try:
                if self.store.wait_for_due(delay):
                    return
            except StorageError as exc:
                log.debug("cannot listen for due requests, sleeping instead: %s", exc)
                time.sleep(min(delay, 1.0))
