"""Alert evaluation in SQLite.

1. One new answer shown to 1,000 rules (an answer rule with words and a burst rule for each
   of 500 stores, the store being the answer's segment), median per answer, against
   recording that answer (``add_answer``) in the same store: what alerting adds.
2. A periodic evaluation of 1,000 level, drop and trend rules (by store, two windows, each
   rule watching its own store) over N answers, aggregated in SQL and shared between
   rules asking the same question, against loading the answers into Python and computing the
   same sums there (once for all rules, which favours the baseline).
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reviewkit as rk
from benchmarks.common import Row, fill_answers, median_time
from reviewkit.adapters.sqlite import SQLiteStore

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SEGMENTS = [f"store-{i:03d}" for i in range(500)]
NPS = rk.SurveyType.NPS


def _fill(path: Path, n: int) -> None:
    rng = random.Random(14)
    start = int((NOW - timedelta(weeks=52)).timestamp() * 1_000_000)
    span = 52 * 7 * 86_400 * 1_000_000

    def answer(_: int, request_id: str) -> tuple[object, ...]:
        return (
            uuid.uuid4().hex, request_id, "c", "nps", rng.randint(0, 10), None,
            start + rng.randrange(span), "email", rng.choice(SEGMENTS), 1, 1, 0, None, None,
        )  # fmt: skip

    fill_answers(path, n, answer)


def _answer_rules(count: int) -> list[rk.AlertRule]:
    rules: list[rk.AlertRule] = []
    for i in range(count):
        segment = SEGMENTS[i % len(SEGMENTS)]
        if i % 2:
            rules.append(
                rk.AnswerRule(
                    name=f"answer {i}",
                    survey=NPS,
                    words=["late", "broken"],
                    filters=rk.AnswerFilter(segments=[segment]),
                )
            )
        else:
            rules.append(
                rk.BurstRule(
                    name=f"burst {i}",
                    survey=NPS,
                    by="segment",
                    count=5,
                    among=10,
                    filters=rk.AnswerFilter(segments=[segment]),
                )
            )
    return rules


def _aggregate_rules(count: int) -> list[rk.AlertRule]:
    rules: list[rk.AlertRule] = []
    windows = [timedelta(days=7), timedelta(days=28)]
    for i in range(count):
        segment = SEGMENTS[i % len(SEGMENTS)]
        window = windows[(i // len(SEGMENTS)) % 2]
        kind = i % 3
        if kind == 0:
            rules.append(
                rk.LevelRule(
                    name=f"level {i}",
                    survey=NPS,
                    worse_than=-20 + i % 7,
                    window=window,
                    by="segment",
                    groups=[segment],
                )
            )
        elif kind == 1:
            rules.append(
                rk.DropRule(
                    name=f"drop {i}",
                    survey=NPS,
                    window=window,
                    by="segment",
                    groups=[segment],
                    min_change=i % 5,
                )
            )
        else:
            rules.append(
                rk.TrendRule(
                    name=f"trend {i}",
                    survey=NPS,
                    periods=8,
                    by="segment",
                    groups=[segment],
                    timezone="Europe/Warsaw",
                )
            )
    return rules


def _one_answer(path: Path, rules: int, answers: int) -> tuple[float, float]:
    """Median seconds to evaluate one new answer, and to record one, in the same store."""
    clock = rk.ManualClock(NOW)
    rng = random.Random(3)
    with SQLiteStore(path) as store:
        service = rk.AlertService(store, clock)
        with store.transaction():
            for rule in _answer_rules(rules):
                service.add_rule(rule)
        campaign = store.add_campaign(rk.Campaign(name="new answers", created_at=NOW))
        pairs = []
        for i in range(answers):
            request = rk.Request(
                campaign_id=campaign.id,
                recipient=rk.Recipient(
                    email=f"new{i}@example.com", segment=SEGMENTS[i % len(SEGMENTS)]
                ),
                channel=rk.Channel.EMAIL,
                address=f"new{i}@example.com",
            )
            store.add_requests([request])
            pairs.append(
                (
                    request,
                    rk.Answer(
                        request_id=request.id,
                        campaign_id=campaign.id,
                        kind=NPS,
                        score=rng.randint(0, 10),
                        comment="it came late" if i % 3 == 0 else None,
                        at=NOW,
                        segment=request.recipient.segment,
                    ),
                )
            )
        record, evaluate = [], []
        for request, answer in pairs:
            start = time.perf_counter()
            stored = store.add_answer(answer)
            middle = time.perf_counter()
            service.on_answer(stored, request)
            record.append(middle - start)
            evaluate.append(time.perf_counter() - middle)
    return statistics.median(evaluate), statistics.median(record)


def _evaluate(path: Path, rules: int) -> float:
    with SQLiteStore(path) as store:
        service = rk.AlertService(store, rk.ManualClock(NOW))
        with store.transaction():
            for rule in service.rules():
                service.remove_rule(rule.id)
            for rule in _aggregate_rules(rules):
                service.add_rule(rule)
        return median_time(lambda: service.evaluate(NOW), 3)


def _baseline(path: Path) -> float:
    """Load the answers of the last 12 weeks and compute every window's sums per segment
    in Python, once for all rules."""

    def work() -> None:
        db = sqlite3.connect(path)
        since = int((NOW - timedelta(weeks=12)).timestamp() * 1_000_000)
        rows = db.execute(
            "SELECT segment, at, score FROM answers WHERE kind = 'nps' AND current = 1 AND at >= ?",
            (since,),
        ).fetchall()
        edges = [
            int((NOW - timedelta(days=d)).timestamp() * 1_000_000) for d in (56, 28, 14, 7)
        ] + [int((NOW - timedelta(weeks=w)).timestamp() * 1_000_000) for w in range(9)]
        sums: dict[tuple[str, int], list[int]] = {}
        for segment, at, score in rows:
            for index, edge in enumerate(edges):
                if at >= edge:
                    s = sums.setdefault((segment, index), [0, 0, 0, 0, 0])
                    s[0] += 1
                    s[1] += score
                    s[2] += score * score
                    s[3] += score >= 9
                    s[4] += score <= 6
        db.close()

    return median_time(work, 3)


def run(n: int, rules: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "alerts.sqlite3"
        _fill(path, n)
        per_answer, per_record = _one_answer(path, rules, 200)
        ours = _evaluate(path, rules)
        base = _baseline(path)
    return [
        Row("alerts", "baseline: record one answer", 1, per_record),
        Row(
            "alerts",
            f"one answer vs {rules} rules",
            1,
            per_answer,
            per_record,
            f"median {per_answer * 1000:.2f} ms per answer; goal < 1 ms",
        ),
        Row("alerts", "baseline: load answers into Python", n, base),
        Row(
            "alerts",
            f"evaluate {rules} level/drop/trend rules",
            n,
            ours,
            base,
            f"{ours:.2f} s over {n:,} answers; goal < 2 s and >= 5x",
        ),
    ]
