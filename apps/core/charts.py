"""Small charts as inline SVG, drawn on the server from numbers we already have.

No JavaScript library and no external service: the back-office must work
offline and show nothing a browser has to fetch. Each function takes a series
and returns the SVG as a string, every text in it escaped. A chart carries its
own accessible text (a `<title>` and a `<desc>` that reads out every value),
and each bar or point has a tooltip; pages show the numbers as a table too.

A value of `None` means "nothing to measure" (a success rate on a day without
calls): it is drawn as a dash on the axis and read out as "no data", which is
not the same as a zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _

# The drawing area, in SVG user units; the SVG scales to its container.
WIDTH = 320
HEIGHT = 150
# Room on the left for the scale, at the bottom for the day labels.
MARGIN_LEFT = 56
MARGIN_RIGHT = 8
MARGIN_TOP = 10
MARGIN_BOTTOM = 22
PLOT_WIDTH = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
PLOT_HEIGHT = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
# The share of a slot a bar fills; the rest separates the days.
BAR_FILL = 0.7


@dataclass(frozen=True)
class Series:
    """One named line or set of bars: one value per label, `None` for no data."""

    label: str
    values: tuple[float | None, ...]
    # The CSS class suffix of its colour (`dash-chart__mark--<tone>`).
    tone: str = "primary"


def format_number(value: float, *, decimals: int = 0) -> str:
    """`12`, `97.5`: as many decimals as asked, none for a whole number."""
    if decimals and not float(value).is_integer():
        return f"{value:.{decimals}f}"
    return f"{round(value):d}"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def bar_chart(*, chart_id: str, title: str, labels: Sequence[str], series: Series,
              unit: str = "", decimals: int = 0, max_value: float | None = None) -> SafeString:
    """One bar per label; a `None` value is drawn as a dash and read out as "no data"."""
    _check_lengths(labels, [series])
    top = max_value if max_value is not None else nice_ceiling(_largest([series]))
    fmt = _formatter(unit, decimals)
    slot = PLOT_WIDTH / max(len(labels), 1)
    marks = []
    for index, value in enumerate(series.values):
        x = MARGIN_LEFT + index * slot + slot * (1 - BAR_FILL) / 2
        width = slot * BAR_FILL
        tooltip = f"{labels[index]}: {fmt(value)}"
        if value is None:
            marks.append(_no_data_mark(x + width / 2, tooltip))
            continue
        height = _scaled(value, top)
        marks.append(
            f'<rect class="dash-chart__mark dash-chart__mark--{_css(series.tone)}" '
            f'x="{x:.1f}" y="{MARGIN_TOP + PLOT_HEIGHT - height:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}">'
            f"<title>{escape(tooltip)}</title></rect>"
        )
    return _svg(chart_id=chart_id, title=title, labels=labels, series=[series], top=top,
                fmt=fmt, marks=marks)


def line_chart(*, chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series],
               unit: str = "", decimals: int = 0, max_value: float | None = None) -> SafeString:
    """One line per series, broken where a value is `None`; a dot per value."""
    _check_lengths(labels, series)
    top = max_value if max_value is not None else nice_ceiling(_largest(series))
    fmt = _formatter(unit, decimals)
    slot = PLOT_WIDTH / max(len(labels), 1)
    marks = []
    for line in series:
        tone = _css(line.tone)
        points: list[tuple[float, float] | None] = []
        dots = []
        for index, value in enumerate(line.values):
            x = MARGIN_LEFT + index * slot + slot / 2
            tooltip = f"{line.label}, {labels[index]}: {fmt(value)}"
            if value is None:
                points.append(None)
                continue
            y = MARGIN_TOP + PLOT_HEIGHT - _scaled(value, top)
            points.append((x, y))
            dots.append(f'<circle class="dash-chart__dot dash-chart__dot--{tone}" '
                        f'cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(tooltip)}</title>'
                        f"</circle>")
        for run in _runs(points):
            if len(run) > 1:
                coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                marks.append(f'<polyline class="dash-chart__line dash-chart__line--{tone}" '
                             f'points="{coordinates}" fill="none"/>')
        marks.extend(dots)
    return _svg(chart_id=chart_id, title=title, labels=labels, series=series, top=top,
                fmt=fmt, marks=marks)


def chart_description(*, labels: Sequence[str], series: Sequence[Series],
                      fmt: Callable[[float | None], str]) -> str:
    """Every value in words, for screen readers: "Calls: Mon 12; Tue no data."."""
    parts = []
    for line in series:
        values = "; ".join(f"{label} {fmt(value)}" for label, value in zip(labels, line.values,
                                                                          strict=True))
        parts.append(f"{line.label}: {values}.")
    return " ".join(parts)


def _svg(*, chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series],
         top: float, fmt: Callable[[float | None], str], marks: list[str]) -> SafeString:
    ident = slugify(chart_id) or "chart"
    description = chart_description(labels=labels, series=series, fmt=fmt)
    slot = PLOT_WIDTH / max(len(labels), 1)
    baseline = MARGIN_TOP + PLOT_HEIGHT
    axis = [
        f'<line class="dash-chart__axis" x1="{MARGIN_LEFT}" y1="{baseline}" '
        f'x2="{WIDTH - MARGIN_RIGHT}" y2="{baseline}"/>',
        f'<line class="dash-chart__grid" x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" '
        f'x2="{WIDTH - MARGIN_RIGHT}" y2="{MARGIN_TOP}"/>',
        f'<text class="dash-chart__scale" x="{MARGIN_LEFT - 4}" y="{MARGIN_TOP + 4}" '
        f'text-anchor="end">{escape(fmt(top))}</text>',
        f'<text class="dash-chart__scale" x="{MARGIN_LEFT - 4}" y="{baseline}" '
        f'text-anchor="end">{escape(fmt(0))}</text>',
    ]
    for index, label in enumerate(labels):
        x = MARGIN_LEFT + index * slot + slot / 2
        axis.append(f'<text class="dash-chart__label" x="{x:.1f}" y="{HEIGHT - 6}" '
                    f'text-anchor="middle">{escape(label)}</text>')
    legend = ""
    if len(series) > 1:
        legend = "".join(
            f'<text class="dash-chart__legend dash-chart__legend--{_css(line.tone)}" '
            f'x="{WIDTH - MARGIN_RIGHT - 90 * (len(series) - position - 1)}" '
            f'y="{MARGIN_TOP + 4}" text-anchor="end">{escape(line.label)}</text>'
            for position, line in enumerate(series))
    return mark_safe(  # noqa: S308 -- every text above went through escape()
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dash-chart" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(description)}</desc>'
        f'{"".join(axis)}{legend}{"".join(marks)}</svg>'
    )


def _no_data_mark(x: float, tooltip: str) -> str:
    baseline = MARGIN_TOP + PLOT_HEIGHT
    return (f'<text class="dash-chart__none" x="{x:.1f}" y="{baseline - 3}" '
            f'text-anchor="middle">–<title>{escape(tooltip)}</title></text>')


def _formatter(unit: str, decimals: int) -> Callable[[float | None], str]:
    def fmt(value: float | None) -> str:
        if value is None:
            return _("no data")
        number = format_number(value, decimals=decimals)
        return f"{number} {unit}" if unit else number

    return fmt


def _scaled(value: float, top: float) -> float:
    # A value above the chosen top (a fixed 100 %) is drawn at the top, not past it.
    return PLOT_HEIGHT * min(max(value, 0) / top, 1) if top > 0 else 0


def _largest(series: Sequence[Series]) -> float:
    values = [value for line in series for value in line.values if value is not None]
    return max(values, default=0)


def _runs(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Consecutive points, split where a value is missing."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _check_lengths(labels: Sequence[str], series: Sequence[Series]) -> None:
    for line in series:
        if len(line.values) != len(labels):
            raise ValueError(f"{line.label!r} has {len(line.values)} values for "
                             f"{len(labels)} labels")


def _css(tone: str) -> str:
    return slugify(tone) or "primary"
