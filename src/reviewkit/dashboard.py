"""A mountable WSGI dashboard of the scores, for the people who act on them.

The host puts it behind its own login and tells it who is looking::

    def viewer(environ):
        user = environ.get("REMOTE_USER")          # or the host's session
        if user is None:
            return None                            # 403
        return Viewer(name=user, scope=Scope(label="Kraków", segments=["krk-1"]))

    app = make_dashboard(store, SystemClock(), viewer, views=[SavedView(...)])

One page, server-rendered HTML with inline SVG charts and no scripts:

- tiles for NPS, CSAT and CES with their 95 % intervals and sample sizes;
- the trend per week of the chosen score, with its interval;
- the breakdown by store (segment), channel or campaign, the network average beside it;
- the latest comments, lowest scores first; open alerts and tasks in the viewer's scope;
- filters (period, store, channel, score, breakdown) and saved views as plain links: one
  click, bookmarkable.

A viewer sees only their scope's stores: asking for another store is ``403``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

import attrs

from reviewkit.domain.alerts import AlertState
from reviewkit.domain.campaign import Channel
from reviewkit.domain.instants import as_utc
from reviewkit.domain.reports import EMPTY_STATS, Scope
from reviewkit.domain.scoring import Period, Score, buckets, score_of
from reviewkit.domain.survey import SurveyType
from reviewkit.domain.tasks import TaskStatus
from reviewkit.domain.window import load_zone
from reviewkit.errors import StorageError, ValidationError
from reviewkit.ports import Clock, Store

__all__ = ["SavedView", "Viewer", "make_dashboard"]

log = logging.getLogger("reviewkit.dashboard")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

DAYS = (7, 30, 90, 365)
"""The periods the dashboard offers, in days back from now."""
BREAKDOWNS = ("segment", "channel", "campaign")
TREND_WEEKS = 12
_NAMES = {SurveyType.NPS: "NPS", SurveyType.CSAT: "CSAT", SurveyType.CES: "CES"}


def _check_zone(_: object, __: object, value: str) -> None:
    load_zone(value)


@attrs.frozen(kw_only=True)
class Viewer:
    """Who is looking, as the host's callable says: a name, the scope they may see, and
    the time zone their weeks are read in."""

    name: str
    scope: Scope = attrs.field(factory=Scope)
    timezone: str = attrs.field(default="UTC", validator=_check_zone)


@attrs.frozen(kw_only=True)
class SavedView:
    """A named set of filters, e.g. a department's: shown as a link on the dashboard.

    :ivar name: the view's key in the address (``?view=NAME``).
    :ivar filters: the query it stands for: ``days``, ``segment``, ``channel``, ``kind``,
        ``by`` (checked like the page's own filters when opened).
    """

    name: str
    label: str
    filters: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class _Filters:
    days: int
    segment: str | None
    channel: Channel | None
    kind: SurveyType
    by: str
    view: str | None

    def query(self, **changes: object) -> str:
        values = {
            "days": str(self.days),
            "segment": self.segment or "",
            "channel": "" if self.channel is None else self.channel.value,
            "kind": self.kind.value,
            "by": self.by,
        }
        values.update({k: "" if v is None else str(v) for k, v in changes.items()})
        return "?" + urlencode({k: v for k, v in values.items() if v})


class _ForbiddenError(Exception):
    pass


def _filters(query: Mapping[str, list[str]], views: Mapping[str, SavedView]) -> _Filters:
    """The page's filters from its query string, a saved view filling in what is not given.

    :raises ValidationError: a value the dashboard does not offer.
    """
    given = {key: values[0] for key, values in query.items() if values and values[0]}
    view = given.get("view")
    merged = dict(given)
    if view is not None:
        if view not in views:
            raise ValidationError(f"no saved view {view!r}")
        merged = {**views[view].filters, **{k: v for k, v in given.items() if k != "view"}}
    try:
        days = int(merged.get("days", "30"))
    except ValueError:
        raise ValidationError(f"days {merged['days']!r}: choose 7, 30, 90 or 365") from None
    if days not in DAYS:
        raise ValidationError(f"days {days}: choose 7, 30, 90 or 365")
    channel = None
    if "channel" in merged:
        try:
            channel = Channel(merged["channel"])
        except ValueError:
            raise ValidationError(f"unknown channel {merged['channel']!r}") from None
    try:
        kind = SurveyType(merged.get("kind", "nps"))
    except ValueError:
        raise ValidationError(f"unknown score {merged['kind']!r}: nps, csat or ces") from None
    by = merged.get("by", "segment")
    if by not in BREAKDOWNS:
        raise ValidationError(f"cannot break down by {by!r}: segment, channel or campaign")
    return _Filters(days, merged.get("segment"), channel, kind, by, view)


def make_dashboard(
    store: Store,
    clock: Clock,
    viewer: Callable[[dict[str, Any]], Viewer | None],
    *,
    views: Sequence[SavedView] = (),
    title: str = "Customer feedback",
    min_sample: int = 30,
    comments: int = 10,
) -> WSGIApp:
    """Return the dashboard as a WSGI application.

    :param viewer: the host's callable: given the WSGI environ, who is looking and what they
        may see; ``None`` for nobody (the page answers ``403``).
    :param views: saved views offered as links.
    :param min_sample: scores from fewer answers are shown as "not enough answers".
    :param comments: how many comments the page lists.
    """
    by_name = {view.name: view for view in views}

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "/") or "/"
        if path != "/" or method not in ("GET", "HEAD"):
            return _respond(
                start_response, "404 Not Found", _document("Not found", "<h1>Not found</h1>")
            )
        who = viewer(environ)
        if who is None:
            return _respond(
                start_response, "403 Forbidden", _document("Forbidden", "<h1>Forbidden</h1>")
            )
        try:
            chosen = _filters(parse_qs(environ.get("QUERY_STRING", "")), by_name)
            if chosen.segment is not None and not who.scope.contains(chosen.segment):
                raise _ForbiddenError(chosen.segment)
            body = _page(store, clock, who, chosen, list(views), title, min_sample, comments)
        except _ForbiddenError as exc:
            text = f"<h1>Forbidden</h1><p>{_e(str(exc))} is not in your scope.</p>"
            return _respond(start_response, "403 Forbidden", _document("Forbidden", text))
        except ValidationError as exc:
            text = f"<h1>Bad filter</h1><p>{_e(str(exc))}</p>"
            return _respond(start_response, "400 Bad Request", _document("Bad filter", text))
        except StorageError as exc:
            log.error("dashboard: %s", exc)
            text = "<h1>Please try again in a minute.</h1>"
            return _respond(start_response, "503 Service Unavailable", _document("Busy", text))
        return _respond(start_response, "200 OK", _document(title, body))

    return app


def _page(
    store: Store,
    clock: Clock,
    who: Viewer,
    f: _Filters,
    views: list[SavedView],
    title: str,
    min_sample: int,
    comment_count: int,
) -> str:
    now = as_utc(clock.now())
    since = now - timedelta(days=f.days)
    segments = [f.segment] if f.segment else sorted(who.scope.segments)
    channels = [] if f.channel is None else [f.channel]
    tiles = []
    for kind in SurveyType:
        sums = store.answer_stats(
            kind, since=since, until=now, segments=segments, channels=channels
        )
        tiles.append(
            _tile(
                kind, score_of(kind, sums.get((None, None), EMPTY_STATS), min_sample=min_sample), f
            )
        )
    zone = load_zone(who.timezone)
    weeks = buckets(Period.WEEK, zone, now - timedelta(weeks=TREND_WEEKS - 1), now)
    trend_sums = store.answer_stats(
        f.kind,
        periods=[(b.start, b.end) for b in weeks],
        segments=segments,
        channels=channels,
    )
    trend = [
        (b.label, score_of(f.kind, trend_sums.get((None, i), EMPTY_STATS), min_sample=min_sample))
        for i, b in enumerate(weeks)
    ]
    groups = store.answer_stats(
        f.kind, by=f.by, since=since, until=now, segments=segments, channels=channels
    )
    network_sums = store.answer_stats(f.kind, since=since, until=now, channels=channels)
    network = score_of(f.kind, network_sums.get((None, None), EMPTY_STATS), min_sample=min_sample)
    rows = sorted(
        (
            (group, score_of(f.kind, sums, min_sample=min_sample))
            for (group, _), sums in groups.items()
        ),
        key=lambda item: (item[1].too_small, -(item[1].value or 0.0), item[0] or ""),
    )
    comments = store.worst_comments(
        f.kind, since=since, until=now, limit=comment_count, segments=segments, channels=channels
    )
    alerts = [
        a
        for a in store.list_alerts([AlertState.FIRING])
        if not who.scope.segments or a.group in who.scope.segments
    ]
    fingerprints = {a.fingerprint for a in alerts}
    tasks = [
        t
        for t in store.list_tasks([TaskStatus.OPEN, TaskStatus.IN_PROGRESS])
        if not who.scope.segments or t.alert in fingerprints
    ]
    name = _NAMES[f.kind]
    parts = [
        f"<header><h1>{_e(title)}</h1><p>{_e(who.name)} · {_e(who.scope.label)} · "
        f"last {f.days} days</p></header>",
        _filter_nav(who, f, views),
        '<section aria-labelledby="tiles-h"><h2 id="tiles-h">Scores</h2>'
        f'<div class="tiles">{"".join(tiles)}</div></section>',
        f'<section aria-labelledby="trend-h"><h2 id="trend-h">{name} per week</h2>'
        f"{_trend_svg(name, trend)}{_trend_table(trend)}</section>",
        f'<section aria-labelledby="by-h"><h2 id="by-h">{name} by {_e(f.by)}</h2>'
        f"{_breakdown(f, rows, network)}</section>",
        f'<section aria-labelledby="comments-h"><h2 id="comments-h">Latest comments, '
        f"lowest {name} first</h2>{_comments(comments, zone)}</section>",
        '<section aria-labelledby="alerts-h"><h2 id="alerts-h">Open alerts and tasks</h2>'
        f"{_alerts(alerts, tasks, zone)}</section>",
    ]
    return "".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _value(score: Score) -> str:
    if score.value is None:
        return "no answers"
    if score.kind is SurveyType.NPS:
        return f"{score.value:+.0f}"
    if score.kind is SurveyType.CSAT:
        return f"{score.value:.0f}%"
    return f"{score.value:.2f}"


def _interval(score: Score) -> str:
    if score.low is None or score.high is None:
        return ""
    fmt = "{:.2f}" if score.kind is SurveyType.CES else "{:.0f}"
    return f"95% interval {fmt.format(score.low)} to {fmt.format(score.high)}"


def _tile(kind: SurveyType, score: Score, f: _Filters) -> str:
    note = "not enough answers" if score.too_small and score.n else _interval(score)
    current = ' aria-current="true"' if kind is f.kind else ""
    return (
        f'<a class="tile" href="{_e(f.query(kind=kind.value))}"{current}>'
        f'<span class="name">{_NAMES[kind]}</span>'
        f'<span class="value" data-kind="{kind.value}">{_e(_value(score))}</span>'
        f'<span class="note">{_e(note)}</span><span class="n">{score.n} answers</span></a>'
    )


def _links(label: str, options: list[tuple[str, str, bool]]) -> str:
    current = ' aria-current="page"'
    items = "".join(
        f'<li><a href="{_e(href)}"{current if on else ""}>{_e(text)}</a></li>'
        for text, href, on in options
    )
    key = "f-" + "".join(c for c in label.lower() if c.isalnum())
    return (
        f'<div class="filter"><span id="{key}">{_e(label)}</span>'
        f'<ul aria-labelledby="{key}">{items}</ul></div>'
    )


def _filter_nav(who: Viewer, f: _Filters, views: list[SavedView]) -> str:
    blocks = [
        _links("Period", [(f"{d} days", f.query(days=d, view=None), d == f.days) for d in DAYS]),
    ]
    stores = [("All", f.query(segment=None), f.segment is None)]
    stores += [(s, f.query(segment=s), s == f.segment) for s in sorted(who.scope.segments)]
    if who.scope.segments:
        blocks.append(_links("Store", stores))
    channels = [("All", f.query(channel=None), f.channel is None)]
    channels += [(c.value, f.query(channel=c.value), c is f.channel) for c in Channel]
    blocks.append(_links("Channel", channels))
    blocks.append(_links("Breakdown", [(b, f.query(by=b), b == f.by) for b in BREAKDOWNS]))
    if views:
        blocks.append(
            _links(
                "Saved views",
                [(v.label, "?" + urlencode({"view": v.name}), v.name == f.view) for v in views],
            )
        )
    return f'<nav aria-label="Filters">{"".join(blocks)}</nav>'


def _trend_svg(name: str, trend: list[tuple[str, Score]]) -> str:
    width, height, left, bottom, top = 640, 220, 44, 30, 14
    values = [s for _, s in trend if s.value is not None]
    if not values:
        return "<p>No answers in these weeks.</p>"
    lows = [s.low if s.low is not None else s.value for s in values]
    highs = [s.high if s.high is not None else s.value for s in values]
    lo = min(v for v in lows if v is not None)
    hi = max(v for v in highs if v is not None)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    step = (width - left - 10) / max(len(trend) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (height - top - bottom)

    band_top, band_bottom, line, dots = [], [], [], []
    for i, (_, s) in enumerate(trend):
        if s.value is None:
            continue
        if s.low is not None and s.high is not None:
            band_top.append(f"{x(i):.1f},{y(s.high):.1f}")
            band_bottom.append(f"{x(i):.1f},{y(s.low):.1f}")
        line.append(f"{x(i):.1f},{y(s.value):.1f}")
        fill = "#ffffff" if s.too_small else "#1a4d8f"
        dots.append(
            f'<circle cx="{x(i):.1f}" cy="{y(s.value):.1f}" r="4" fill="{fill}" '
            'stroke="#1a4d8f" stroke-width="2"/>'
        )
    band = ""
    if band_top:
        points = " ".join(band_top + list(reversed(band_bottom)))
        band = f'<polygon points="{points}" fill="#1a4d8f" fill-opacity="0.15"/>'
    labels = "".join(
        f'<text x="{x(i):.1f}" y="{height - 8}" font-size="10" text-anchor="middle" '
        f'fill="#333333">{_e(label[-3:])}</text>'
        for i, (label, _) in enumerate(trend)
    )
    axis = (
        f'<text x="4" y="{y(hi) + 4:.1f}" font-size="10" fill="#333333">{hi:.0f}</text>'
        f'<text x="4" y="{y(lo) + 4:.1f}" font-size="10" fill="#333333">{lo:.0f}</text>'
    )
    summary = f"{name} per week, last {len(trend)} weeks; the table below has the figures"
    return (
        f'<svg class="trend" role="img" aria-labelledby="trend-t" '
        f'viewBox="0 0 {width} {height}"><title id="trend-t">{_e(summary)}</title>'
        f'{band}<polyline points="{" ".join(line)}" fill="none" stroke="#1a4d8f" '
        f'stroke-width="2"/>{"".join(dots)}{labels}{axis}</svg>'
    )


def _trend_table(trend: list[tuple[str, Score]]) -> str:
    rows = "".join(
        f'<tr><th scope="row">{_e(label)}</th><td>{_e(_value(s))}</td><td>{s.n}</td></tr>'
        for label, s in trend
    )
    return (
        '<details><summary>Figures per week</summary><table><thead><tr><th scope="col">Week</th>'
        f'<th scope="col">Score</th><th scope="col">Answers</th></tr></thead><tbody>{rows}'
        "</tbody></table></details>"
    )


def _breakdown(f: _Filters, rows: list[tuple[str | None, Score]], network: Score) -> str:
    if not rows:
        return "<p>No answers in this period.</p>"
    scale = {
        SurveyType.NPS: (-100.0, 100.0),
        SurveyType.CSAT: (0.0, 100.0),
        SurveyType.CES: (1.0, 7.0),
    }
    lo, hi = scale[f.kind]

    def bar(score: Score) -> str:
        if score.value is None:
            return ""
        share = max(0.0, min(1.0, (score.value - lo) / (hi - lo)))
        mark = ""
        if network.value is not None:
            at = max(0.0, min(1.0, (network.value - lo) / (hi - lo))) * 200
            mark = (
                f'<line x1="{at:.1f}" x2="{at:.1f}" y1="0" y2="14" stroke="#b3261e" '
                'stroke-width="2"/>'
            )
        colour = "#8a8a8a" if score.too_small else "#1a4d8f"
        return (
            '<svg aria-hidden="true" width="200" height="14" viewBox="0 0 200 14">'
            f'<rect width="{share * 200:.1f}" height="14" fill="{colour}"/>{mark}</svg>'
        )

    body = "".join(
        f'<tr><th scope="row">{_e(group or "none")}</th><td class="num">{_e(_value(score))}</td>'
        f'<td class="num">{score.n}</td><td>{bar(score)}</td>'
        f'<td class="num">{_e(_versus(score, network))}</td></tr>'
        for group, score in rows
    )
    return (
        f'<table class="breakdown"><thead><tr><th scope="col">{_e(f.by.capitalize())}</th>'
        '<th scope="col">Score</th><th scope="col">Answers</th><th scope="col">'
        '<span class="sr-only">Bar</span></th><th scope="col">vs network</th></tr></thead>'
        f'<tbody>{body}</tbody><tfoot><tr><th scope="row">Network average</th>'
        f'<td class="num" id="network">{_e(_value(network))}</td><td class="num">{network.n}'
        "</td><td></td><td></td></tr></tfoot></table>"
    )


def _versus(score: Score, network: Score) -> str:
    if score.value is None or network.value is None:
        return ""
    diff = score.value - network.value
    return f"{diff:+.2f}" if score.kind is SurveyType.CES else f"{diff:+.0f}"


def _comments(answers: Sequence[Any], zone: Any) -> str:
    if not answers:
        return "<p>No comments in this period.</p>"
    items = "".join(
        f'<li><span class="score">{a.score}</span> <span class="meta">'
        f"{_e(a.segment or '')} · {a.at.astimezone(zone):%Y-%m-%d %H:%M}</span>"
        f"<blockquote>{_e(a.comment or '')}</blockquote></li>"
        for a in answers
    )
    return f'<ol class="comments">{items}</ol>'


def _alerts(alerts: Sequence[Any], tasks: Sequence[Any], zone: Any) -> str:
    if not alerts and not tasks:
        return "<p>No open alerts or tasks.</p>"
    parts = []
    if alerts:
        parts.append(
            "<ul>"
            + "".join(
                f"<li><strong>{_e(a.rule_name)}</strong> {_e(a.group or '')} · since "
                f"{(a.fired_at or a.started_at).astimezone(zone):%Y-%m-%d %H:%M}</li>"
                for a in alerts
            )
            + "</ul>"
        )
    if tasks:
        parts.append(
            "<ul>"
            + "".join(
                f"<li>Task: {_e(t.title)} · {_e(t.assignee)}"
                + (f" · due {t.due_at.astimezone(zone):%Y-%m-%d %H:%M}" if t.due_at else "")
                + "</li>"
                for t in tasks
            )
            + "</ul>"
        )
    return "".join(parts)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:64rem;padding:1rem;color:#1a1a1a;
line-height:1.45}
a{color:#0b4a8b}
a:focus-visible{outline:3px solid #c77700;outline-offset:2px}
nav{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}
.filter ul{list-style:none;display:flex;flex-wrap:wrap;gap:.3rem;margin:.2rem 0;padding:0}
.filter a{display:inline-block;padding:.25rem .6rem;border:1px solid #0b4a8b;border-radius:.3rem;
text-decoration:none}
.filter a[aria-current]{background:#0b4a8b;color:#ffffff}
.tiles{display:flex;flex-wrap:wrap;gap:1rem}
.tile{display:flex;flex-direction:column;min-width:12rem;padding:.8rem 1rem;border:2px solid
#0b4a8b;border-radius:.5rem;text-decoration:none;color:#1a1a1a}
.tile[aria-current]{background:#eef3fa}
.tile .name{font-weight:600}.tile .value{font-size:2rem;font-weight:700;color:#0b4a8b}
.tile .note,.tile .n{font-size:.85rem;color:#444444}
table{border-collapse:collapse;margin:.5rem 0}
th,td{padding:.3rem .6rem;border-bottom:1px solid #d0d0d0;text-align:left}
.num{text-align:right}
.comments blockquote{margin:.2rem 0 .8rem 0}
.comments .score{font-weight:700}.comments .meta{color:#444444;font-size:.9rem}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
svg.trend{width:100%;max-width:640px;height:auto}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii")


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _respond(start_response: StartResponse, status: str, document: str) -> Iterable[bytes]:
    body = document.encode("utf-8")
    start_response(
        status,
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "private, no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            (
                "Content-Security-Policy",
                f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; "
                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
            ("Referrer-Policy", "same-origin"),
            *([("Retry-After", "60")] if status.startswith("503") else []),
        ],
    )
    return [body]
