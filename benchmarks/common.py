"""Shared plumbing for the benchmarks: timing by median of runs, memory peaks, the table."""

from __future__ import annotations

import gc
import sqlite3
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.adapters.sqlite import queries as q


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    case: str
    n: int
    seconds: float
    baseline_seconds: float | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds else float("inf")

    @property
    def ratio(self) -> float | None:
        """How many times faster than the baseline (higher is better)."""
        if self.baseline_seconds is None:
            return None
        return self.baseline_seconds / self.seconds


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of *repeat* calls of *fn*, garbage collector off while timing."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes allocated by Python while *fn* runs."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'benchmark':<22} {'case':<34} {'n':>10} {'seconds':>9} {'per second':>12} "
        f"{'vs baseline':>12}  note"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        print(
            f"{r.benchmark:<22} {r.case:<34} {r.n:>10,} {r.seconds:>9.4f} {r.rate:>12,.0f} "
            f"{ratio:>12}  {r.note}"
        )


def fill_answers(
    path: Path,
    n: int,
    answer: Callable[[int, str], tuple[object, ...]],
    request: Callable[[int, list[object]], None] | None = None,
) -> None:
    """A SQLite database at *path* with one campaign ``c``, *n* sent requests and one answer
    each: ``answer(i, request_id)`` gives the answer's row (``INSERT_ANSWER`` columns);
    ``request(i, row)``, when given, changes the request's row (``DELIVERY_COLUMNS``)."""
    SQLiteStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    db.execute(
        "INSERT INTO campaigns (id, name, status, version, data) "
        "VALUES ('c', 'c', 'completed', 1, '{}')"
    )
    ids = [uuid.uuid4().hex for _ in range(n)]
    width = len(q.DELIVERY_COLUMNS.split(","))

    def requests() -> Iterator[tuple[object, ...]]:
        for i, id_ in enumerate(ids):
            row: list[object] = [None] * width
            row[:6] = [id_, "c", "email", f"a{i}@example.com", f"a:a{i}", "sent"]
            row[8] = 1  # attempts
            row[21] = 0  # scheduled_at
            row[26] = 0  # reminders_sent
            if request is not None:
                request(i, row)
            yield tuple(row)

    db.execute("BEGIN")
    db.executemany(q.INSERT_REQUEST, requests())
    db.executemany(q.INSERT_ANSWER, (answer(i, id_) for i, id_ in enumerate(ids)))
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
