"""Score rollups: SQLite and PostgreSQL keep hour and day sums of the answers that always equal a
recomputation, and scores read from them equal scores computed from every answer."""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.domain.scoring import rollup_pieces

from . import pg_server

HOUR, DAY = 3_600_000_000, 86_400_000_000
BASE = datetime(2026, 3, 27, tzinfo=UTC)  # the weekend Europe moves its clocks


@given(
    start=st.integers(-10 * DAY, 10 * DAY),
    length=st.integers(-HOUR, 5 * DAY),
    probes=st.lists(st.integers(-11 * DAY, 16 * DAY), max_size=20),
)
def test_pieces_count_every_instant_of_the_range_once(
    start: int, length: int, probes: list[int]
) -> None:
    """Added and taken-away pieces count each instant inside the range once and each
    instant outside it not at all; rollup pieces are whole slots; what is read from the
    answers is under an hour at each end."""
    end = start + length
    pieces = rollup_pieces(start, end, (DAY, HOUR))
    if end <= start:
        assert pieces == []
        return
    edges = [start, end - 1, end, start - 1]
    edges += [p for piece in pieces for p in (piece[1], piece[2], piece[1] - 1, piece[2] - 1)]
    for instant in [*probes, *edges]:
        counted = sum(sign for _, low, high, sign in pieces if low <= instant < high)
        assert counted == (1 if start <= instant < end else 0), instant
    for span, low, high, _ in pieces:
        assert low < high
        if span is None:
            assert high - low < HOUR
        else:
            assert low % span == 0
            assert high % span == 0
    assert len([p for p in pieces if p[0] is None]) <= 2
    assert len([p for p in pieces if p[0] == DAY]) <= 1
    assert len([p for p in pieces if p[0] == HOUR]) <= 2


def _rollups(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT * FROM answer_rollups ORDER BY 1, 2, 3, 4, 5, 6").fetchall()


_answer = st.tuples(
    st.integers(0, 5),  # which customer answers (the same one again replaces the answer)
    st.sampled_from([rk.SurveyType.NPS, rk.SurveyType.CSAT, rk.SurveyType.CES]),
    st.integers(0, 10),
    st.integers(-3 * 24 * 60, 3 * 24 * 60),  # minutes from BASE, before 1970 never needed
    st.sampled_from([None, "", "vip", "b2b"]),
    st.sampled_from([0, 1]),  # which campaign
)
_step = st.one_of(
    st.tuples(st.just("answer"), _answer),
    st.tuples(st.just("delete"), st.sampled_from([0, 1])),
)


def _play(store: rk.Store, steps: list[tuple[str, object]]) -> None:
    campaigns = [store.add_campaign(rk.Campaign(name=name)) for name in ("one", "two")]
    requests: dict[tuple[int, int], rk.Request] = {}
    for action, data in steps:
        if action == "delete":
            assert isinstance(data, int)
            if campaigns[data] is not None:
                store.delete_campaign(campaigns[data].id)
                campaigns[data] = store.add_campaign(rk.Campaign(name=f"again{len(steps)}{data}"))
                requests = {k: v for k, v in requests.items() if k[1] != data}
            continue
        who, kind, score, minutes, segment, which = data  # type: ignore[misc]
        low, high = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[kind.value]
        campaign = campaigns[which]
        request = requests.get((who, which))
        if request is None:
            request = rk.Request(
                campaign_id=campaign.id,
                recipient=rk.Recipient(email=f"c{who}@example.com", segment=segment or None),
                channel=rk.Channel.EMAIL if who % 2 else rk.Channel.SMS,
                address=f"c{who}@example.com",
            )
            store.add_requests([request])
            requests[(who, which)] = request
        store.add_answer(
            rk.Answer(
                request_id=request.id,
                campaign_id=campaign.id,
                kind=kind,
                score=min(max(score, low), high),
                at=BASE + timedelta(minutes=minutes),
                channel=request.channel,
                segment=segment,
            )
        )


_query = st.fixed_dictionaries(
    {
        "kind": st.sampled_from([rk.SurveyType.NPS, rk.SurveyType.CSAT, rk.SurveyType.CES]),
        "by": st.sampled_from([None, "segment", "channel", "campaign"]),
        "period": st.sampled_from([None, "day", "week", "month"]),
        "timezone": st.sampled_from(["UTC", "Europe/Warsaw", "Asia/Kolkata", "America/St_Johns"]),
        "since": st.none() | st.integers(-4 * 24 * 60, 4 * 24 * 60),
        "until": st.none() | st.integers(-4 * 24 * 60, 4 * 24 * 60),
    }
)


def _scores(store: rk.Store, query: dict[str, object]) -> list[object]:
    q = dict(query)
    for bound in ("since", "until"):
        if q[bound] is not None:
            q[bound] = BASE + timedelta(minutes=q[bound], seconds=7)  # type: ignore[arg-type]
    rows = rk.ScoreService(store).scores(min_sample=1, **q)  # type: ignore[arg-type]
    # Campaign ids differ between the stores; the campaigns' order does not.
    names = {c.id: c.name for c in store.list_campaigns()}
    return [(r.group if query["by"] != "campaign" else names.get(r.group or ""), r.period, r.score)
            for r in rows]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_step, max_size=25), queries=st.lists(_query, min_size=1, max_size=4))
def test_rollups_equal_a_recomputation_and_scores_equal_the_memory_stores(
    steps: list[tuple[str, object]], queries: list[dict[str, object]]
) -> None:
    """After any answers, replacements and deletions the rollups equal a rebuild from the
    answers, and every score equals the one the in-memory store computes answer by answer."""
    memory = rk.InMemoryStore()
    _play(memory, steps)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.sqlite3"
        with SQLiteStore(path) as store:
            _play(store, steps)
            kept = _rollups(path)
            store.rebuild_rollups()
            assert _rollups(path) == kept
            assert all(row[6] > 0 for row in kept)  # no empty rows left behind
            for query in queries:
                assert _scores(store, query) == _scores(memory, query)


_postgres_examples = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_step, max_size=25), queries=st.lists(_query, min_size=1, max_size=4))
def test_postgres_rollups_equal_a_recomputation_and_scores_equal_the_memory_stores(
    postgres: pg_server.Server,
    steps: list[tuple[str, object]],
    queries: list[dict[str, object]],
) -> None:
    """The same on PostgreSQL, whose rollups are kept by its own trigger functions."""
    import psycopg

    from reviewkit.adapters.postgres import PostgresStore

    memory = rk.InMemoryStore()
    _play(memory, steps)
    url = postgres.create_database(
        f"rollups_{next(_postgres_examples)}", template="reviewkit_template"
    )
    with PostgresStore(url, pool_size=1) as store:
        _play(store, steps)
        read = "SELECT * FROM answer_rollups ORDER BY 1, 2, 3, 4, 5, 6"
        with psycopg.connect(url) as raw:
            kept = raw.execute(read).fetchall()
            store.rebuild_rollups()
            assert raw.execute(read).fetchall() == kept
        assert all(row[6] > 0 for row in kept)
        for query in queries:
            assert _scores(store, query) == _scores(memory, query)


def test_an_older_database_gets_its_rollups_on_upgrade(tmp_path: Path) -> None:
    """Answers stored before the rollups existed are summed when the store upgrades."""
    path = tmp_path / "old.sqlite3"
    with SQLiteStore(path) as store:
        campaign = store.add_campaign(rk.Campaign(name="c"))
        for n in range(5):
            request = rk.Request(
                campaign_id=campaign.id,
                recipient=rk.Recipient(email=f"c{n}@example.com"),
                channel=rk.Channel.EMAIL,
                address=f"c{n}@example.com",
            )
            store.add_requests([request])
            store.add_answer(
                rk.Answer(request_id=request.id, campaign_id=campaign.id,
                          kind=rk.SurveyType.NPS, score=n * 2 + 1, at=BASE)
            )  # fmt: skip
        expected = _rollups(path)
    with sqlite3.connect(path) as db:  # as the previous version left it
        db.executescript(
            "DROP TRIGGER answer_rollups_insert; DROP TRIGGER answer_rollups_delete;"
            "DROP TRIGGER answer_rollups_update; DROP TABLE answer_rollups;"
            "DROP VIEW answer_rollup_changes; DROP TABLE rollup_spans;"
            # and without what later versions added
            "DROP TABLE report_runs; DROP TABLE reports; DROP INDEX deliveries_sent;"
            "DROP INDEX answers_comments; DROP TABLE soft_bounces; DROP TABLE moderations;"
            "DROP TABLE trigger_rules; DROP TABLE notification_groups; DROP TABLE consent_changes;"
            "ALTER TABLE deliveries DROP COLUMN delivered_at;"
            "ALTER TABLE deliveries DROP COLUMN bounced_at;"
            "ALTER TABLE deliveries DROP COLUMN complained_at;"
            "PRAGMA user_version = 10;"
        )
    with SQLiteStore(path) as store:
        assert _rollups(path) == expected
        (row,) = rk.ScoreService(store).scores(rk.SurveyType.NPS, min_sample=1)
        assert row.score.n == 5
        assert row.score.value == (1 - 3) / 5 * 100  # 9 promotes; 1, 3 and 5 detract


def test_scores_read_the_rollups_not_every_answer(tmp_path: Path) -> None:
    """A score over whole days reads the day rollups: its plan searches answer_rollups."""
    with SQLiteStore(tmp_path / "plan.sqlite3") as store:
        plan = store._db.execute(
            "EXPLAIN QUERY PLAN "
            + rk.adapters.sqlite.queries.ROLLUP_SUMS.format(group="a.segment_key", filters=""),
            {"ranges": "[]", "kind": "nps", "span": DAY},
        ).fetchall()
    assert any("SEARCH a USING PRIMARY KEY" in row[3] for row in plan), plan


_filters = st.fixed_dictionaries(
    {
        "kind": st.sampled_from([rk.SurveyType.NPS, rk.SurveyType.CSAT, rk.SurveyType.CES]),
        "by": st.sampled_from([None, "segment", "channel"]),
        "segments": st.lists(st.sampled_from(["", "vip", "b2b", "none"]), max_size=2),
        "channels": st.lists(st.sampled_from([rk.Channel.EMAIL, rk.Channel.SMS]), max_size=2),
        "days": st.integers(-3, 3),
    }
)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(_step, max_size=25), queries=st.lists(_filters, min_size=1, max_size=4))
def test_segment_and_channel_filters_agree_with_the_memory_store(
    steps: list[tuple[str, object]], queries: list[dict[str, object]]
) -> None:
    """Sums filtered by segments and channels read from the rollups equal those the
    in-memory store adds up answer by answer."""
    memory = rk.InMemoryStore()
    _play(memory, steps)
    with tempfile.TemporaryDirectory() as tmp, SQLiteStore(Path(tmp) / "r.sqlite3") as store:
        _play(store, steps)
        for q in queries:
            since = BASE + timedelta(days=q["days"], minutes=7)  # type: ignore[arg-type]
            args = {
                "by": q["by"],
                "segments": q["segments"],
                "channels": q["channels"],
                "periods": [
                    (since, since + timedelta(days=1)),
                    (since + timedelta(days=1), since + timedelta(days=2)),
                ],
            }
            kind = q["kind"]
            assert store.answer_stats(kind, **args) == memory.answer_stats(kind, **args)  # type: ignore[arg-type]
