"""The mountable dashboard: who may see what, figures equal to the score service's, filters
as links, and the page in a real headless browser (clicked, checked, screenshot kept)."""

from __future__ import annotations

import io
import os
import random
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.dashboard import SavedView, Viewer, make_dashboard
from reviewkit.domain.alerts import Alert, AlertState, Evidence
from reviewkit.domain.reports import Scope
from reviewkit.domain.scoring import AnswerStats, score_of

from .web_server import serving

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SOUTH = Scope(label="South", segments=["krk-1", "krk-2"])


def _fill(store: rk.Store, n: int = 400) -> None:
    rng = random.Random(3)
    campaign = store.add_campaign(rk.Campaign(name="c"))
    for i in range(n):
        segment = rng.choice(["krk-1", "krk-2", "waw-1"])
        channel = rng.choice([rk.Channel.EMAIL, rk.Channel.SMS])
        request = rk.Request(
            campaign_id=campaign.id,
            recipient=rk.Recipient(email=f"c{i}@example.com", segment=segment),
            channel=channel,
            address=f"c{i}@example.com",
        )
        store.add_requests([request])
        kind = rng.choice(list(rk.SurveyType))
        high = {rk.SurveyType.NPS: 10, rk.SurveyType.CSAT: 5, rk.SurveyType.CES: 7}[kind]
        store.add_answer(
            rk.Answer(
                request_id=request.id,
                campaign_id=campaign.id,
                kind=kind,
                score=rng.randint(0 if kind is rk.SurveyType.NPS else 1, high),
                comment=f"<i>comment {i}</i>" if i % 10 == 0 else None,
                at=NOW - timedelta(minutes=rng.randrange(60 * 24 * 80)),
                channel=channel,
                segment=segment,
            )
        )


def _viewer(environ: dict[str, Any]) -> Viewer | None:
    user = environ.get("REMOTE_USER")
    if user == "ala":
        return Viewer(name="Ala", scope=SOUTH, timezone="Europe/Warsaw")
    if user == "boss":
        return Viewer(name="Boss")
    return None


def _app(store: rk.Store) -> Any:
    views = [SavedView(name="sms", label="SMS team", filters={"channel": "sms", "days": "90"})]
    return make_dashboard(store, rk.ManualClock(NOW), _viewer, views=views, min_sample=5)


def _get(app: Any, query: str = "", user: str | None = "ala", path: str = "/") -> tuple[str, str]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(),
    }
    if user is not None:
        environ["REMOTE_USER"] = user
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    body = b"".join(app(environ, start_response)).decode()
    return seen["status"], body


def _tile(page: str, kind: str) -> tuple[str, int]:
    found = re.search(
        rf'data-kind="{kind}">([^<]*)</span>.*?<span class="n">(\d+) answers', page, re.S
    )
    assert found, kind
    return unescape(found.group(1)), int(found.group(2))


def _expected(store: rk.Store, kind: rk.SurveyType, days: int, **filters: Any) -> rk.Score:
    """The score from the answers themselves, independently of the dashboard."""
    since = NOW - timedelta(days=days)
    scores = [
        a.score
        for a in store.iter_answers(since=since, until=NOW)
        if a.kind is kind
        and a.segment in filters.get("segments", ("krk-1", "krk-2"))
        and (filters.get("channel") is None or a.channel is filters["channel"])
    ]
    sums = AnswerStats(
        len(scores),
        sum(scores),
        sum(s * s for s in scores),
        sum(s >= {"nps": 9, "csat": 4, "ces": 99}[kind.value] for s in scores),
        sum(s <= 6 for s in scores) if kind is rk.SurveyType.NPS else 0,
    )
    return score_of(kind, sums, min_sample=5)


def _shown(score: rk.Score) -> str:
    assert score.value is not None
    if score.kind is rk.SurveyType.NPS:
        return f"{score.value:+.0f}"
    if score.kind is rk.SurveyType.CSAT:
        return f"{score.value:.0f}%"
    return f"{score.value:.2f}"


def test_tiles_show_the_viewers_scope(store: rk.Store) -> None:
    """Each tile is the score of the viewer's stores over the period, with its sample."""
    _fill(store)
    status, page = _get(_app(store))
    assert status == "200 OK"
    for kind in rk.SurveyType:
        expected = _expected(store, kind, 30)
        assert _tile(page, kind.value) == (_shown(expected), expected.n)
    _, narrowed = _get(_app(store), "segment=krk-1&channel=sms&days=90&kind=ces")
    expected = _expected(store, rk.SurveyType.CES, 90, segments=("krk-1",), channel=rk.Channel.SMS)
    assert _tile(narrowed, "ces") == (_shown(expected), expected.n)


def test_breakdown_has_the_network_average_beside(store: rk.Store) -> None:
    """The breakdown lists the viewer's stores only, and the whole network's average."""
    _fill(store)
    _, page = _get(_app(store), "days=90")
    table = page[page.index('class="breakdown"') :]
    groups = re.findall(r'<th scope="row">([^<]+)</th>', table)
    assert set(groups) == {"krk-1", "krk-2", "Network average"}
    network = _expected(store, rk.SurveyType.NPS, 90, segments=("krk-1", "krk-2", "waw-1"))
    assert re.search(r'id="network">([^<]+)<', table).group(1) == _shown(network)  # type: ignore[union-attr]


def test_filters_are_links_that_read_back(store: rk.Store) -> None:
    """Every filter link's query opens a page (200); the current choice is marked."""
    _fill(store, 60)
    app = _app(store)
    _, page = _get(app)
    links = set(re.findall(r'href="\?([^"]*)"', page))
    assert len(links) > 10
    for query in links:
        assert _get(app, unescape(query))[0] == "200 OK", query
    assert '<a href="?days=7&amp;kind=nps&amp;by=segment">7 days</a>' in page
    assert 'aria-current="page">30 days</a>' in page


def test_a_saved_view_applies_its_filters(store: rk.Store) -> None:
    """?view=sms is the SMS team's filters; a filter given beside it wins."""
    _fill(store)
    app = _app(store)
    _, page = _get(app, "view=sms")
    expected = _expected(store, rk.SurveyType.NPS, 90, channel=rk.Channel.SMS)
    assert _tile(page, "nps") == (_shown(expected), expected.n)
    assert 'aria-current="page">sms</a>' in page
    _, week = _get(app, "view=sms&days=7")
    assert "last 7 days" in week


@pytest.mark.parametrize(
    ("query", "user", "path", "status"),
    [
        ("", None, "/", "403 Forbidden"),
        ("segment=waw-1", "ala", "/", "403 Forbidden"),
        ("segment=waw-1", "boss", "/", "200 OK"),
        ("days=5", "ala", "/", "400 Bad Request"),
        ("kind=mood", "ala", "/", "400 Bad Request"),
        ("by=weather", "ala", "/", "400 Bad Request"),
        ("view=none", "ala", "/", "400 Bad Request"),
        ("channel=fax", "ala", "/", "400 Bad Request"),
        ("", "ala", "/admin", "404 Not Found"),
    ],
)
def test_who_may_see_what(query: str, user: str | None, path: str, status: str) -> None:
    """Nobody: 403; a store outside the scope: 403; a filter not offered: 400."""
    store = rk.InMemoryStore()
    _fill(store, 20)
    assert _get(_app(store), query, user, path)[0] == status


def test_comments_are_escaped_lowest_first_and_alerts_in_scope(store: rk.Store) -> None:
    """Comments are text, lowest score first; firing alerts of the viewer's stores show."""
    _fill(store)
    for group in ("krk-1", "waw-1"):
        store.save_alert(
            Alert(
                fingerprint=f"fp-{group}",
                rule_id="r",
                rule_name="Low NPS",
                group=group,
                state=AlertState.FIRING,
                started_at=NOW - timedelta(hours=2),
                fired_at=NOW - timedelta(hours=1),
                updated_at=NOW,
                evidence=Evidence(summary="NPS 10 (n=40)"),
            )
        )
    _, page = _get(_app(store), "days=90")
    assert "<i>comment" not in page
    assert "&lt;i&gt;comment" in page
    scores = [int(s) for s in re.findall(r'<span class="score">(\d+)</span>', page)]
    assert scores == sorted(scores)
    assert "Low NPS</strong> krk-1" in page
    assert "waw-1 ·" not in page.split("Open alerts")[1]


@pytest.mark.window(1200, 1400)
def test_the_dashboard_in_a_real_browser(browser: Any, tmp_path: Path) -> None:
    """Load the page, click a store and a channel, check the tile against the answers, reach
    the filters by keyboard, keep a screenshot."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with SQLiteStore(tmp_path / "d.sqlite3") as store:
        _fill(store, 600)

        def viewer(environ: dict[str, Any]) -> Viewer:
            return Viewer(name="Ala", scope=SOUTH, timezone="Europe/Warsaw")

        app = make_dashboard(store, rk.ManualClock(NOW), viewer, min_sample=5)
        with serving(app) as base:
            browser.get(base + "/")
            assert browser.find_element(By.TAG_NAME, "h1").text == "Customer feedback"
            browser.find_element(By.LINK_TEXT, "krk-2").click()
            browser.find_element(By.LINK_TEXT, "sms").click()
            query = parse_qs(browser.current_url.split("?", 1)[1])
            assert (query["segment"], query["channel"]) == (["krk-2"], ["sms"])
            shown = browser.find_element(By.CSS_SELECTOR, '[data-kind="nps"]').text
            expected = _expected(
                store, rk.SurveyType.NPS, 30, segments=("krk-2",), channel=rk.Channel.SMS
            )
            assert shown == (_shown(expected) if expected.n else "no answers")
            body = browser.find_element(By.TAG_NAME, "body")
            body.send_keys(Keys.TAB)
            focused = browser.switch_to.active_element
            assert focused.tag_name == "a"
            assert focused.text == "7 days"  # the first filter, reached by keyboard
            labels = browser.find_elements(By.CSS_SELECTOR, "svg[role=img] title")
            assert labels
            assert labels[0].get_attribute("textContent").startswith("NPS per week")
            shot = Path(os.environ.get("REVIEWKIT_ARTIFACTS", tmp_path)) / "dashboard.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            assert browser.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000


def test_a_storage_fault_is_503_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database that cannot be read: 503 with Retry-After, the reason in the log."""
    store = SQLiteStore(tmp_path / "d.sqlite3")
    app = make_dashboard(store, rk.ManualClock(NOW), _viewer)
    store.close()
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "REMOTE_USER": "ala"}
    seen: dict[str, Any] = {}
    with caplog.at_level("ERROR", logger="reviewkit.dashboard"):
        b"".join(app(environ, lambda status, headers: seen.update(s=status, h=dict(headers))))
    assert seen["s"] == "503 Service Unavailable"
    assert seen["h"]["Retry-After"] == "60"
    assert caplog.records
