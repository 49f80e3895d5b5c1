"""Report charts as PNG images, drawn with matplotlib (``pip install 'reviewkit[reports]'``).

:class:`MatplotlibCharts` is the :class:`~reviewkit.ports.ChartRenderer` reports use::

    ReportService(store, clock, transport, charts=MatplotlibCharts())

Figures are drawn with matplotlib's object API on the Agg canvas: no pyplot state, no
display, safe to call from several threads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import Any

from reviewkit.domain.reports import LeagueRow
from reviewkit.domain.scoring import Score
from reviewkit.errors import ConfigurationError

__all__ = ["MatplotlibCharts", "charts_available", "league_chart", "trend_chart"]

_BLUE = "#1a4d8f"
_GREY = "#6b6b6b"


@cache
def charts_available() -> bool:
    """Whether matplotlib can be imported (the ``reports`` extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    # Fixed margins: a layout engine would cost half the drawing time again.
    return Figure(figsize=(width, height), dpi=100)


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def trend_chart(title: str, trend: Sequence[tuple[str, Score]], *, unit: str = "") -> bytes:
    """A line of the score per period with its 95 % interval as a band; periods without
    answers are gaps, those with too few answers hollow points."""
    figure = _figure(6.0, 2.6)
    axes = figure.add_subplot()
    xs = list(range(len(trend)))
    values = [s.value if s.value is not None else float("nan") for _, s in trend]
    lows = [s.low if s.low is not None else float("nan") for _, s in trend]
    highs = [s.high if s.high is not None else float("nan") for _, s in trend]
    figure.subplots_adjust(left=0.09, right=0.98, top=0.88, bottom=0.13)
    axes.fill_between(xs, lows, highs, color=_BLUE, alpha=0.15, linewidth=0)
    axes.plot(xs, values, color=_BLUE, linewidth=2, marker="o", markersize=6)
    small = [
        (x, s.value)
        for x, (_, s) in zip(xs, trend, strict=True)
        if s.too_small and s.value is not None
    ]
    if small:
        axes.plot(
            [x for x, _ in small],
            [v for _, v in small],
            linestyle="none",
            marker="o",
            markersize=6,
            color=_BLUE,
            markerfacecolor="white",
        )
    axes.set_xticks(xs, [label for label, _ in trend], fontsize=8)
    axes.set_title(title, fontsize=10, loc="left")
    if unit:
        axes.set_ylabel(unit, fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    axes.grid(axis="y", color="#dddddd")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _png(figure)


def league_chart(title: str, rows: Sequence[LeagueRow], network: Score) -> bytes:
    """Horizontal bars, one per store, best at the top, with the network's score as a line."""
    shown = [row for row in rows if row.score.value is not None][:20]
    figure = _figure(6.0, 0.6 + 0.28 * max(len(shown), 1))
    axes = figure.add_subplot()
    longest = max((len(row.group or "") for row in shown), default=4)
    figure.subplots_adjust(left=min(0.08 + 0.013 * longest, 0.4), right=0.97, top=0.9, bottom=0.1)
    labels = [row.group or "—" for row in reversed(shown)]
    values = [row.score.value or 0.0 for row in reversed(shown)]
    colours = ["#b0b0b0" if row.score.too_small else _BLUE for row in reversed(shown)]
    axes.barh(labels, values, color=colours)
    if network.value is not None:
        axes.axvline(network.value, color="#c0392b", linewidth=1.5, linestyle="--")
    axes.set_title(title, fontsize=10, loc="left")
    axes.tick_params(labelsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.xaxis.label.set_color(_GREY)
    return _png(figure)


class MatplotlibCharts:
    """The :class:`~reviewkit.ports.ChartRenderer` of the ``reports`` extra.

    :raises ConfigurationError: matplotlib is not installed.
    """

    def __init__(self) -> None:
        if not charts_available():
            raise ConfigurationError(
                "report charts need matplotlib: pip install 'reviewkit[reports]'"
            )

    def trend(self, title: str, trend: Sequence[tuple[str, Score]]) -> bytes:
        """See :func:`trend_chart`."""
        return trend_chart(title, trend)

    def league(self, title: str, rows: Sequence[LeagueRow], network: Score) -> bytes:
        """See :func:`league_chart`."""
        return league_chart(title, rows, network)
