"""Personalised reports over N answers in SQLite: 500 recipients (store managers, region
managers, directors) each get their own weekly report.

- reviewkit: every recipient's figures from one aggregation per time zone (sums per store and
  week, one funnel count, one read of the week's comments), then each report rendered as the
  e-mail that goes out (HTML, PNG charts when matplotlib is installed, text, CSV).
- baseline: each recipient's figures computed separately (the same service, one recipient at
  a time, so every report aggregates again); timed on a sample of recipients and scaled to
  all of them, because running it for every recipient at full size takes many minutes.

The answers: NPS over the 8 weeks before the report, spread over the stores; a tenth carry a
comment; each answer's request was sent an hour before it and most were opened.
"""

from __future__ import annotations

import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reviewkit as rk
from benchmarks.common import Row, fill_answers
from reviewkit.adapters.charts import MatplotlibCharts, charts_available
from reviewkit.adapters.clock import ManualClock
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.domain.reports import Recurrence, ReportDefinition, ReportRecipient, Scope
from reviewkit.services.report_render import render_report

MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 08:00 in Warsaw
WEEKS = 8
SAMPLE = 10


def _us(instant: datetime) -> int:
    return int(instant.timestamp() * 1_000_000)


def _fill(path: Path, n: int, stores: list[str]) -> None:
    rng = random.Random(7)
    start = _us(MONDAY - timedelta(weeks=WEEKS, hours=8))
    span = WEEKS * 7 * 86_400 * 1_000_000
    times = [start + rng.randrange(span) for _ in range(n)]
    where = [rng.choice(stores) for _ in range(n)]

    def request(i: int, row: list[object]) -> None:
        row[10] = times[i] - 3_600_000_000  # sent_at
        row[22] = where[i]  # segment
        if i % 5:
            row[27] = times[i] - 1_800_000_000  # opened_at
        row[29] = times[i]  # answered_at

    def answer(i: int, request_id: str) -> tuple[object, ...]:
        comment = f"comment {i}" if i % 10 == 0 else None
        return (
            uuid.uuid4().hex, request_id, "c", "nps", rng.choice((0, 3, 6, 7, 8, 9, 9, 10, 10)),
            comment, times[i], "email", where[i], 1, 1, 0, None, None,
        )  # fmt: skip

    fill_answers(path, n, answer, request)


def _report(stores: list[str], recipients: int) -> ReportDefinition:
    people = []
    directors = max(recipients // 100, 1)
    regions = max(recipients // 10, 1)
    for k in range(recipients):
        if k < directors:
            scope = Scope(label="Network")
            zone = "UTC"
        elif k < directors + regions:
            chosen = [stores[(k * 10 + j) % len(stores)] for j in range(10)]
            scope, zone = Scope(label=f"Region {k}", segments=chosen), "Europe/Warsaw"
        else:
            store = stores[k % len(stores)]
            scope, zone = Scope(label=f"Store {store}", segments=[store]), "Europe/Warsaw"
        people.append(ReportRecipient(address=f"m{k}@shop.example", scope=scope, timezone=zone))
    return ReportDefinition(
        name="weekly",
        recipients=people,
        recurrence=Recurrence(every="week", weekday=0),
        trend_periods=WEEKS,
        min_sample=30,
    )


def run(n: int, recipients: int) -> list[Row]:
    stores = [f"s{i:03d}" for i in range(max(recipients, 10))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.sqlite3"
        _fill(path, n, stores)
        report = _report(stores, recipients)
        with SQLiteStore(path) as store:
            service = rk.ReportService(store, ManualClock(MONDAY))

            started = time.perf_counter()
            figures = service.figures(report, at=MONDAY)
            together_s = time.perf_counter() - started
            charts = MatplotlibCharts() if charts_available() else None
            rendered = [render_report(f, charts=charts) for f in figures.values()]
            total_s = time.perf_counter() - started
            images = sum(len(r.images) for r in rendered)

            sample = list(report.recipients[: min(SAMPLE, recipients)])
            started = time.perf_counter()
            for person in sample:
                alone = service.figures(report, at=MONDAY, recipients=[person.address])
                assert alone[person.address] == figures[person.address], "figures disagree"
            separately_s = (time.perf_counter() - started) * recipients / len(sample)
    drawn = f"{images} charts" if charts_available() else "no charts (matplotlib missing)"
    return [
        Row(
            "reports",
            f"baseline: each of {recipients} recipients aggregated alone (from {len(sample)})",
            recipients,
            separately_s,
        ),
        Row(
            "reports",
            "reviewkit figures, one aggregation per zone",
            recipients,
            together_s,
            separately_s,
            "goal >= 10x",
        ),
        Row(
            "reports",
            "reviewkit figures + rendered e-mails",
            recipients,
            total_s,
            None,
            f"{n:,} answers; {drawn}; goal < 60 s for 500 at 1,000,000",
        ),
    ]
