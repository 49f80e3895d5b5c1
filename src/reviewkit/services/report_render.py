"""A report's figures as an e-mail: HTML that mail clients show (tables, inline styles, no
scripts), charts as inline PNG images referenced by ``cid:``, a text part, and the figures
as a CSV attachment — or the same as one standalone HTML file (images as ``data:`` URIs).

::

    rendered = render_report(figures)
    message = rendered.message(sender="reports@shop.example", message_id=run.message_id,
                               created_at=now, report_id=report.id)
    Path("report.html").write_text(rendered.standalone_html())
"""

from __future__ import annotations

import base64
import csv
import html
import io
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from reviewkit.domain.campaign import Channel
from reviewkit.domain.collection import neutralize_cell
from reviewkit.domain.messages import Attachment, OutgoingMessage
from reviewkit.domain.reports import KindFigures, ReportFigures, ReportMetric
from reviewkit.domain.scoring import Score
from reviewkit.domain.survey import SurveyType
from reviewkit.domain.window import load_zone
from reviewkit.ports import ChartRenderer

__all__ = ["RenderedReport", "render_report"]

log = logging.getLogger("reviewkit.reports")

_TEXTS = {
    "en": {
        "hello": "Hello {name},",
        "intro": "here is {scope} for {period} ({start} to {end}).",
        "empty": "There were no answers and no requests sent for {scope} in {period}.",
        "score": "Score",
        "interval": "95% interval",
        "answers": "Answers",
        "previous": "Previous period",
        "change": "Change",
        "significant": "significant",
        "not_significant": "within chance",
        "untested": "not enough answers to test",
        "too_small": "not enough answers",
        "no_answers": "no answers",
        "network": "Network",
        "funnel": "Requests",
        "sent": "Sent",
        "opened": "Opened",
        "answered": "Answered",
        "rate": "Answer rate",
        "league": "Stores",
        "store": "Store",
        "versus": "vs network",
        "comments": "Latest comments, worst first",
        "when": "When",
        "comment": "Comment",
        "trend": "{kind} per period",
        "figures": "The figures are attached as a CSV file.",
        "names": {"nps": "NPS", "csat": "CSAT", "ces": "CES"},
    },
    "pl": {
        "hello": "Dzień dobry {name},",
        "intro": "oto {scope} za okres {period} (od {start} do {end}).",
        "empty": "W okresie {period} nie było odpowiedzi ani wysłanych próśb dla: {scope}.",
        "score": "Wynik",
        "interval": "Przedział 95%",
        "answers": "Odpowiedzi",
        "previous": "Poprzedni okres",
        "change": "Zmiana",
        "significant": "istotna",
        "not_significant": "w granicach przypadku",
        "untested": "za mało odpowiedzi do oceny",
        "too_small": "za mało odpowiedzi",
        "no_answers": "brak odpowiedzi",
        "network": "Cała sieć",
        "funnel": "Prośby",
        "sent": "Wysłane",
        "opened": "Otwarte",
        "answered": "Z odpowiedzią",
        "rate": "Odsetek odpowiedzi",
        "league": "Sklepy",
        "store": "Sklep",
        "versus": "względem sieci",
        "comments": "Najnowsze komentarze, najgorsze najpierw",
        "when": "Kiedy",
        "comment": "Komentarz",
        "trend": "{kind} w kolejnych okresach",
        "figures": "Liczby są w załączonym pliku CSV.",
        "names": {"nps": "NPS", "csat": "CSAT", "ces": "CES"},
    },
}

_DASH = "\u2013"  # an en dash: "no figure"
_TABLE = 'style="border-collapse:collapse;margin:0 0 16px 0;font-size:14px"'
_TH = 'style="text-align:left;padding:4px 10px;border-bottom:2px solid #1a4d8f;color:#1a1a1a"'
_TD = 'style="padding:4px 10px;border-bottom:1px solid #dddddd;color:#1a1a1a"'
_H2 = 'style="font-size:17px;color:#1a4d8f;margin:24px 0 8px 0"'


@attrs.frozen
class RenderedReport:
    """One recipient's report, ready to send or save.

    :ivar images: the charts, each an inline :class:`Attachment` with its Content-ID.
    :ivar csv: the figures as CSV (UTF-8 text; cells that would run as spreadsheet formulas
        are neutralised).
    """

    subject: str
    html: str
    text: str
    csv: str
    images: tuple[Attachment, ...]
    csv_name: str

    def standalone_html(self) -> str:
        """The HTML with its images inside it (``data:`` URIs): one file a browser opens."""
        page = self.html
        for image in self.images:
            encoded = base64.b64encode(image.data).decode("ascii")
            page = page.replace(f"cid:{image.content_id}", f"data:image/png;base64,{encoded}")
        return page

    def _csv_attachment(self) -> Attachment:
        return Attachment(
            filename=self.csv_name,
            content_type="text/csv; charset=utf-8",
            data=self.csv.encode("utf-8"),
        )

    def message(
        self,
        *,
        to: str,
        sender: str | None,
        message_id: str,
        created_at: datetime,
        report_id: str,
    ) -> OutgoingMessage:
        """The e-mail: text and HTML, the charts inline, the CSV attached."""
        return OutgoingMessage(
            message_id=message_id,
            channel=Channel.EMAIL,
            sender=sender,
            to=to,
            subject=self.subject,
            text=self.text,
            html=self.html,
            created_at=created_at,
            campaign_id=report_id,
            headers={"X-Reviewkit-Report": report_id},
            attachments=[*self.images, self._csv_attachment()],
        )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _number(kind: SurveyType, value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return _DASH
    if kind is SurveyType.CES:
        return f"{value:+.2f}" if signed else f"{value:.2f}"
    if kind is SurveyType.NPS:
        return f"{value:+.0f}"
    return f"{value:+.0f} pp" if signed else f"{value:.0f}%"


def _score_text(score: Score, texts: Mapping[str, object]) -> str:
    if score.value is None:
        return str(texts["no_answers"])
    shown = _number(score.kind, score.value)
    if score.too_small:
        return f"{shown} ({texts['too_small']})"
    return shown


def _interval_text(score: Score) -> str:
    if score.low is None or score.high is None:
        return _DASH
    return f"{_number(score.kind, score.low)} … {_number(score.kind, score.high)}"


def _change_text(kind: KindFigures, texts: Mapping[str, object]) -> str:
    if kind.change is None:
        return _DASH
    verdict = texts["untested"]
    if kind.p_value is not None and not kind.current.too_small and not kind.previous.too_small:
        verdict = texts["significant"] if kind.significant else texts["not_significant"]
    arrow = "▲" if kind.change > 0 else "▼" if kind.change < 0 else "="
    return f"{arrow} {_number(kind.kind, kind.change, signed=True)} ({verdict})"


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = "".join(f"<th {_TH}>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td {_TD}>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f'<table role="presentation" {_TABLE}><tr>{head}</tr>{body}</table>'


def render_report(figures: ReportFigures, *, charts: ChartRenderer | None = None) -> RenderedReport:
    """Render one recipient's report in their language and time zone.

    :param charts: draws the charts (``None``: tables only).
    """
    recipient = figures.recipient
    texts: Mapping[str, object] = _TEXTS.get(recipient.language, _TEXTS["en"])
    names = texts["names"]
    assert isinstance(names, dict)
    zone = load_zone(recipient.timezone)
    period = figures.period
    start = period.start.astimezone(zone).date().isoformat()
    last_day = (period.end.astimezone(zone)).date().toordinal() - 1
    end = datetime.fromordinal(last_day).date().isoformat()
    scope = recipient.scope.label
    subject = f"{figures.report.title}: {scope}, {period.label}"
    html_parts = [f'<h1 style="font-size:21px;color:#1a1a1a">{_e(figures.report.title)}</h1>']
    text_parts = [figures.report.title, "=" * len(figures.report.title), ""]
    greeting = str(texts["hello"]).format(name=recipient.name or recipient.address)
    intro = str(texts["intro"]).format(scope=scope, period=period.label, start=start, end=end)
    html_parts.append(f"<p>{_e(greeting)}<br>{_e(intro)}</p>")
    text_parts += [greeting, intro, ""]
    images: list[Attachment] = []
    if figures.empty:
        empty = str(texts["empty"]).format(scope=scope, period=period.label)
        html_parts.append(f"<p><strong>{_e(empty)}</strong></p>")
        text_parts.append(empty)
    else:
        for kind in figures.kinds:
            name = str(names[kind.kind.value])
            html_parts.append(f"<h2 {_H2}>{_e(name)}</h2>")
            rows = [
                [str(texts["score"]), _score_text(kind.current, texts)],
                [str(texts["interval"]), _interval_text(kind.current)],
                [str(texts["answers"]), str(kind.current.n)],
                [str(texts["previous"]), _score_text(kind.previous, texts)],
                [str(texts["change"]), _change_text(kind, texts)],
                [str(texts["network"]), _score_text(kind.network, texts)],
            ]
            html_parts.append(_table(["", period.label], rows))
            text_parts += [name, *(f"  {label}: {value}" for label, value in rows), ""]
            if charts is not None and any(score.value is not None for _, score in kind.trend):
                cid = f"trend-{kind.kind.value}@reviewkit"
                title = str(texts["trend"]).format(kind=name)
                images.append(_png(cid, charts.trend(title, kind.trend)))
                html_parts.append(
                    f'<p><img src="cid:{cid}" alt="{_e(title)}" width="600" '
                    'style="max-width:100%;height:auto"></p>'
                )
            if ReportMetric.LEAGUE in figures.report.metrics and kind.league:
                html_parts.append(f'<h3 style="font-size:15px">{_e(texts["league"])}</h3>')
                league_rows = [
                    [
                        row.group or "—",
                        _score_text(row.score, texts),
                        str(row.score.n),
                        _number(kind.kind, row.versus_network, signed=True),
                    ]
                    for row in kind.league
                ]
                headers = [str(texts["store"]), name, str(texts["answers"]), str(texts["versus"])]
                html_parts.append(_table(headers, league_rows))
                text_parts += [
                    f"  {r[0]}: {r[1]} (n={r[2]}, {texts['versus']} {r[3]})" for r in league_rows
                ]
                text_parts.append("")
                if charts is not None and len(kind.league) > 1:
                    cid = f"league-{kind.kind.value}@reviewkit"
                    title = f"{name}: {texts['league']}"
                    images.append(_png(cid, charts.league(title, kind.league, kind.network)))
                    html_parts.append(
                        f'<p><img src="cid:{cid}" alt="{_e(title)}" width="600" '
                        'style="max-width:100%;height:auto"></p>'
                    )
        if figures.funnel is not None:
            f = figures.funnel
            rate = _DASH if f.answer_rate is None else f"{f.answer_rate:.1f}%"
            rows = [
                [str(texts["sent"]), str(f.sent)],
                [str(texts["opened"]), str(f.opened)],
                [str(texts["answered"]), str(f.answered)],
                [str(texts["rate"]), rate],
            ]
            html_parts.append(f"<h2 {_H2}>{_e(texts['funnel'])}</h2>")
            html_parts.append(_table(["", period.label], rows))
            text_parts += [str(texts["funnel"]), *(f"  {a}: {b}" for a, b in rows), ""]
        if figures.comments:
            html_parts.append(f"<h2 {_H2}>{_e(texts['comments'])}</h2>")
            rows = [
                [
                    a.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    a.segment or "—",
                    f"{names[a.kind.value]} {a.score}",
                    a.comment or "",
                ]
                for a in figures.comments
            ]
            headers = [
                str(texts["when"]),
                str(texts["store"]),
                str(texts["score"]),
                str(texts["comment"]),
            ]
            html_parts.append(_table(headers, rows))
            text_parts += [str(texts["comments"])]
            text_parts += [f"  {r[0]} {r[1]} {r[2]}: {r[3]}" for r in rows]
            text_parts.append("")
    html_parts.append(f'<p style="color:#555555;font-size:13px">{_e(texts["figures"])}</p>')
    text_parts.append(str(texts["figures"]))
    document = (
        f'<!doctype html><html lang="{_e(recipient.language)}"><head><meta charset="utf-8">'
        f"<title>{_e(subject)}</title></head>"
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#1a1a1a;max-width:640px;'
        f'margin:0 auto;padding:12px">{"".join(html_parts)}</body></html>'
    )
    return RenderedReport(
        subject=subject,
        html=document,
        text="\n".join(text_parts) + "\n",
        csv=figures_csv(figures),
        images=tuple(images),
        csv_name=f"{_slug(figures.report.name)}-{period.label}.csv",
    )


def _png(cid: str, data: bytes) -> Attachment:
    return Attachment(
        filename=cid.split("@")[0] + ".png", content_type="image/png", data=data, content_id=cid
    )


def _slug(name: str) -> str:
    kept = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip().lower())
    return kept.strip("-") or "report"


CSV_COLUMNS = ("metric", "scope", "group", "period", "value", "low", "high", "n")
"""The columns of a report's CSV attachment."""


def figures_csv(figures: ReportFigures) -> str:
    """The report's figures as CSV (:data:`CSV_COLUMNS`): each score's trend, the league
    and the network, the funnel's counts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    scope = figures.recipient.scope.label

    def score_row(metric: str, group: str, period: str, score: Score) -> list[str]:
        return [
            metric,
            scope,
            group,
            period,
            "" if score.value is None else f"{score.value:.2f}",
            "" if score.low is None else f"{score.low:.2f}",
            "" if score.high is None else f"{score.high:.2f}",
            str(score.n),
        ]

    rows: list[list[str]] = []
    for kind in figures.kinds:
        metric = kind.kind.value
        rows += [score_row(metric, "", label, score) for label, score in kind.trend]
        rows.append(score_row(metric, "network", figures.period.label, kind.network))
        rows += [
            score_row(metric, row.group or "", figures.period.label, row.score)
            for row in kind.league
        ]
    if figures.funnel is not None:
        for name, count in (
            ("sent", figures.funnel.sent),
            ("opened", figures.funnel.opened),
            ("answered", figures.funnel.answered),
        ):
            rows.append([name, scope, "", figures.period.label, str(count), "", "", ""])
    for row in rows:
        # Names come from data; numbers are written as numbers (a minus sign stays).
        row[1], row[2] = neutralize_cell(row[1]), neutralize_cell(row[2])
        writer.writerow(row)
    return out.getvalue()
