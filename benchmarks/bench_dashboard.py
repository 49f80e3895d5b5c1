"""The dashboard page over N answers in SQLite: a regional manager (10 stores) and a director
(the whole network) load the page of the last 30 days, and a filtered one (one channel, 90
days); the median time of a whole page (tiles, weekly trend, breakdown with the network
average, worst comments, alerts and tasks).

The baseline: the page's three tiles alone computed the plain way, every answer of the
period read into Python and summed there (what a dashboard without the store's sums does).

The answers: NPS, CSAT and CES over the last 52 weeks, 500 stores, e-mail and SMS, a tenth
with a comment.
"""

from __future__ import annotations

import io
import random
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import reviewkit as rk
from benchmarks.common import Row, fill_answers, median_time
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.dashboard import Viewer, make_dashboard
from reviewkit.domain.reports import Scope
from reviewkit.domain.scoring import THRESHOLDS, AnswerStats, score_of

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
STORES = [f"s{i:03d}" for i in range(500)]
KINDS = [rk.SurveyType.NPS, rk.SurveyType.CSAT, rk.SurveyType.CES]


def _fill(path: Path, n: int) -> None:
    rng = random.Random(11)
    start = int((NOW - timedelta(weeks=52)).timestamp() * 1_000_000)
    span = 52 * 7 * 86_400 * 1_000_000

    def answer(i: int, request_id: str) -> tuple[object, ...]:
        kind = KINDS[i % 3]
        high = {rk.SurveyType.NPS: 10, rk.SurveyType.CSAT: 5, rk.SurveyType.CES: 7}[kind]
        low = 0 if kind is rk.SurveyType.NPS else 1
        return (
            uuid.uuid4().hex, request_id, "c", kind.value, rng.randint(low, high),
            f"comment {i}" if i % 10 == 0 else None, start + rng.randrange(span),
            rng.choice(("email", "sms")), rng.choice(STORES), 1, 1, 0, None, None,
        )  # fmt: skip

    fill_answers(path, n, answer)


def _get(app: Any, query: str) -> str:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": query}
    environ["wsgi.input"] = io.BytesIO()
    seen: dict[str, str] = {}
    body = b"".join(app(environ, lambda status, headers: seen.update(status=status)))
    assert seen["status"] == "200 OK", seen
    return body.decode()


def _plain_tiles(store: SQLiteStore, segments: set[str] | None) -> dict[str, rk.Score]:
    sums = {kind: [0, 0, 0, 0, 0] for kind in KINDS}
    for a in store.iter_answers(since=NOW - timedelta(days=30), until=NOW):
        if segments is not None and a.segment not in segments:
            continue
        top, bottom = THRESHOLDS[a.kind]
        s = sums[a.kind]
        s[0] += 1
        s[1] += a.score
        s[2] += a.score * a.score
        s[3] += a.score >= top
        s[4] += a.score <= bottom
    return {k.value: score_of(k, AnswerStats(*v)) for k, v in sums.items()}


def run(n: int, repeat: int) -> list[Row]:
    region = Scope(label="Region", segments=STORES[:10])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.sqlite3"
        _fill(path, n)
        with SQLiteStore(path) as store:
            clock = rk.ManualClock(NOW)
            for label, scope in (("region of 10 stores", region), ("whole network", Scope())):
                app = make_dashboard(
                    store, clock, lambda environ, s=scope: Viewer(name="x", scope=s)
                )
                _get(app, "")  # warm the connection and the caches
                page_s = median_time(lambda app=app: _get(app, ""), repeat)
                filtered_s = median_time(
                    lambda app=app: _get(app, "channel=sms&days=90&by=channel"), repeat
                )
                segments = None if not scope.segments else set(scope.segments)
                base_s = median_time(lambda s=segments: _plain_tiles(store, s), max(1, repeat // 3))
                rows += [
                    Row("dashboard", f"baseline: 3 tiles from every answer ({label})", n, base_s),
                    Row(
                        "dashboard",
                        f"reviewkit whole page, 30 days ({label})",
                        n,
                        page_s,
                        base_s,
                        "median; goal < 200 ms at 1,000,000",
                    ),
                    Row(
                        "dashboard",
                        f"reviewkit page, sms, 90 days, by channel ({label})",
                        n,
                        filtered_s,
                        None,
                        "median",
                    ),
                ]
    return rows
