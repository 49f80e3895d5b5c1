"""NPS, CSAT and CES over N answers in SQLite, grouped by segment x ISO week in
Europe/Warsaw: the library (sums read from the hour and day rollups) against loading the
same answers into Python and computing there, and, when the ``bench`` extra is installed,
against DuckDB aggregating the same answers held in its own in-memory table; in the same run,
with identical results checked.

The answers: a third each NPS, CSAT and CES, over the last 52 weeks, four segments.
"""

from __future__ import annotations

import bisect
import csv
import random
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reviewkit as rk
from benchmarks.common import Row, fill_answers, median_time
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.domain.scoring import THRESHOLDS, AnswerStats, buckets, score_of

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SEGMENTS = ["vip", "regular", "new", "wholesale"]
KINDS = [rk.SurveyType.NPS, rk.SurveyType.CSAT, rk.SurveyType.CES]
ZONE = "Europe/Warsaw"


def _fill(path: Path, n: int) -> None:
    rng = random.Random(4)
    start = int((NOW - timedelta(weeks=52)).timestamp() * 1_000_000)
    span = 52 * 7 * 86_400 * 1_000_000

    def answer(i: int, request_id: str) -> tuple[object, ...]:
        kind = KINDS[i % 3]
        high = {rk.SurveyType.NPS: 10, rk.SurveyType.CSAT: 5, rk.SurveyType.CES: 7}[kind]
        low = 0 if kind is rk.SurveyType.NPS else 1
        return (
            uuid.uuid4().hex, request_id, "c", kind.value, rng.randint(low, high), None,
            start + rng.randrange(span), "email", rng.choice(SEGMENTS), 1, 1, 0, None, None,
        )  # fmt: skip

    fill_answers(path, n, answer)


def _library(store: SQLiteStore) -> list[rk.ScoreRow]:
    service = rk.ScoreService(store)
    rows = []
    for kind in KINDS:
        rows += service.scores(kind, by="segment", period="week", timezone=ZONE)
    return rows


def _load_and_compute(path: Path) -> dict[tuple[str, str | None, str], rk.Score]:
    """The baseline: every answer into Python, bucketed and summed there."""
    db = sqlite3.connect(path)
    zone = rk.load_zone(ZONE)
    result = {}
    for kind in KINDS:
        rows = db.execute(
            "SELECT at, segment, score FROM answers WHERE kind = ? AND current = 1",
            (kind.value,),
        ).fetchall()
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        first = epoch + timedelta(microseconds=min(r[0] for r in rows))
        last = epoch + timedelta(microseconds=max(r[0] for r in rows) + 1)
        weeks = buckets(rk.Period.WEEK, zone, first, last)
        starts = [int((w.start - epoch).total_seconds() * 1_000_000) for w in weeks]
        top, bottom = THRESHOLDS[kind]
        sums: dict[tuple[str | None, int], list[int]] = {}
        for at, segment, score in rows:
            key = (segment, bisect.bisect_right(starts, at) - 1)
            s = sums.get(key)
            if s is None:
                s = sums[key] = [0, 0, 0, 0, 0]
            s[0] += 1
            s[1] += score
            s[2] += score * score
            s[3] += score >= top
            s[4] += score <= bottom
        for (segment, index), values in sums.items():
            result[(kind.value, segment, weeks[index].label)] = score_of(kind, AnswerStats(*values))
    db.close()
    return result


def _duckdb(path: Path) -> Callable[[], dict[tuple[str, str | None, str], rk.Score]] | None:
    """DuckDB's turn: the answers copied into its memory (not timed), then one query per
    survey type, each answer matched to its week by an ASOF join on the weeks' UTC starts."""
    try:
        import duckdb
    except ImportError:
        return None
    copy = path.with_suffix(".csv")
    source = sqlite3.connect(path)
    with copy.open("w", newline="") as out:
        csv.writer(out).writerows(
            source.execute("SELECT kind, at, segment, score FROM answers WHERE current = 1")
        )
    source.close()
    db = duckdb.connect()
    db.execute(
        "CREATE TABLE answers AS SELECT * FROM read_csv(?, header = false, columns = "
        "{'kind': 'TEXT', 'at': 'BIGINT', 'segment': 'TEXT', 'score': 'INTEGER'})",
        [str(copy)],
    )
    zone = rk.load_zone(ZONE)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def compute() -> dict[tuple[str, str | None, str], rk.Score]:
        result = {}
        for kind in KINDS:
            first, last = db.execute(
                'SELECT min("at"), max("at") FROM answers WHERE kind = ?', [kind.value]
            ).fetchone()
            weeks = buckets(
                rk.Period.WEEK, zone,
                epoch + timedelta(microseconds=first), epoch + timedelta(microseconds=last + 1),
            )  # fmt: skip
            starts = [
                (i, int((w.start - epoch).total_seconds() * 1_000_000)) for i, w in enumerate(weeks)
            ]
            db.execute(
                "CREATE OR REPLACE TEMP TABLE weeks AS "
                "SELECT unnest(?::INTEGER[]) AS idx, unnest(?::BIGINT[]) AS start",
                [[i for i, _ in starts], [start for _, start in starts]],
            )
            top, bottom = THRESHOLDS[kind]
            found = db.execute(
                "SELECT a.segment, w.idx, count(*), sum(a.score), sum(a.score * a.score), "
                "count(*) FILTER (a.score >= ?), count(*) FILTER (a.score <= ?) "
                'FROM answers AS a ASOF JOIN weeks AS w ON a."at" >= w.start '
                "WHERE a.kind = ? GROUP BY a.segment, w.idx",
                [top, bottom, kind.value],
            ).fetchall()
            for segment, index, *values in found:
                sums = AnswerStats(*(int(v) for v in values))
                result[(kind.value, segment, weeks[index].label)] = score_of(kind, sums)
        return result

    return compute


def run(n: int, repeat: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.sqlite3"
        _fill(path, n)
        with SQLiteStore(path) as store:
            library = _library(store)
            baseline = _load_and_compute(path)
            got = {(r.kind.value, r.group, r.period): r.score for r in library}
            assert got == baseline, "the library and the baseline disagree"
            lib_s = median_time(lambda: _library(store), repeat)
        base_s = median_time(lambda: _load_and_compute(path), repeat)
        duck = _duckdb(path)
        if duck is not None:
            assert duck() == baseline, "DuckDB and the baseline disagree"
            duck_s = median_time(duck, repeat)
    groups = len(library)
    contest = []
    if duck is not None:
        contest = [
            Row("scores", "contestant: DuckDB in memory", n, duck_s),
            Row(
                "scores",
                "reviewkit against DuckDB",
                n,
                lib_s,
                duck_s,
                "same query and results; goal >= 5x at 1,000,000",
            ),
        ]
    return [
        Row("scores", "baseline: load into Python", n, base_s),
        Row(
            "scores",
            "reviewkit ScoreService (SQL sums)",
            n,
            lib_s,
            base_s,
            f"NPS+CSAT+CES by segment x week: {groups} groups; goal < 1 s and >= 5x",
        ),
        *contest,
    ]
