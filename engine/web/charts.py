"""Server-side charts as inline SVG: pure functions from plain values to markup.

No JavaScript and no external assets: a page is readable as served, printable, and every
chart sits next to a table with the same numbers. Colours and fonts come from the page's
stylesheet through class names (`bar`, `bar hi`, `band`, `line`, `ci`, `axis`, ...), so these
functions only place shapes. Every text is escaped; every number is finite by the time it is
placed (None values are left out, never drawn at zero).

    bar_chart([Bar("signup", 1200), ...])            horizontal bars with values
    column_chart([Column("W09", 310), ...])          vertical bars (counts over time)
    funnel_chart([Bar("signup", 1200), ...])         centred bars, % of the first step
    line_chart([Series("lift", points)], band=True)  lines with a confidence band
    forest_plot([ForestRow("tutorial_first", 0.12, (0.03, 0.21))])  estimates with CIs
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

Formatter = Callable[[float], str]


def plain(value: float) -> str:
    """A count or measure with thousands separators, at most two decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def percent(value: float) -> str:
    """A share (0.123) as a signed-free percentage ("12.3%")."""
    return f"{value * 100:.1f}%"


def signed_percent(value: float) -> str:
    """A relative lift (0.123) as "+12.3%"."""
    return f"{value * 100:+.1f}%"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    highlight: bool = False
    note: str = ""  # shown after the value, e.g. "62% of signup"


@dataclass(frozen=True)
class Column:
    label: str
    value: float


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[Point]


@dataclass(frozen=True)
class ForestRow:
    label: str
    estimate: float | None
    interval: tuple[float, float] | None
    significant: bool = False


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" role="img"'
        f' aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet"'
        ' xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, cls: str = "label", anchor: str = "start") -> str:
    return (
        f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, cls: str) -> str:
    return f'<rect class="{cls}" x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}"/>'


def _line(x1: float, y1: float, x2: float, y2: float, cls: str) -> str:
    return f'<line class="{cls}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'


def bar_chart(
    bars: Sequence[Bar], *, title: str, fmt: Formatter = plain, width: int = 640
) -> Markup:
    """Horizontal bars from zero, one row per bar, the value written after each bar."""
    row, label_w, value_w = 28, 200, 150
    height = max(len(bars), 1) * row + 8
    top = max((b.value for b in bars), default=0.0)
    span = width - label_w - value_w
    body = []
    for i, bar in enumerate(bars):
        y = 4 + i * row
        w = 0.0 if top <= 0 else span * max(bar.value, 0.0) / top
        cls = "bar hi" if bar.highlight else "bar"
        value = fmt(bar.value) + (f"  {bar.note}" if bar.note else "")
        body += [
            _text(label_w - 8, y + 18, _clip(bar.label, 28), anchor="end"),
            _rect(label_w, y + 4, w, row - 8, cls),
            _text(label_w + w + 6, y + 18, value, "value"),
        ]
    return _svg(width, height, title, body)


def funnel_chart(bars: Sequence[Bar], *, title: str, width: int = 640) -> Markup:
    """Bars centred on one axis, each labelled with its count and share of the first."""
    row, label_w = 34, 150
    height = max(len(bars), 1) * row + 8
    first = bars[0].value if bars else 0.0
    span = width - label_w - 8
    middle = label_w + span / 2
    body = []
    for i, bar in enumerate(bars):
        y = 4 + i * row
        share = bar.value / first if first > 0 else 0.0
        w = max(span * share, 2.0)
        cls = "bar hi" if bar.highlight else "bar"
        caption = f"{plain(bar.value)} · {percent(share)}"
        body += [
            _text(label_w - 8, y + 21, _clip(bar.label, 20), anchor="end"),
            _rect(middle - w / 2, y + 3, w, row - 6, cls),
            _text(middle, y + 21, caption, "value inside", anchor="middle"),
        ]
    return _svg(width, height, title, body)


def column_chart(
    columns: Sequence[Column], *, title: str, width: int = 640, height: int = 180
) -> Markup:
    """Vertical bars, e.g. signups per week; labels thinned out so they never overlap."""
    left, bottom, top_pad = 44, 22, 10
    plot_h = height - bottom - top_pad
    top = max((c.value for c in columns), default=0.0)
    ticks = nice_ticks(0.0, top if top > 0 else 1.0, 4)
    high = ticks[-1]
    step = (width - left - 4) / max(len(columns), 1)
    every = max(1, math.ceil(len(columns) * 48 / (width - left)))
    body = _y_axis(ticks, left, width, lambda v: top_pad + plot_h * (1 - v / high), plain)
    for i, col in enumerate(columns):
        h = plot_h * max(col.value, 0.0) / high
        x = left + i * step
        body.append(_rect(x + step * 0.15, top_pad + plot_h - h, step * 0.7, h, "bar"))
        if i % every == 0:
            body.append(_text(x + step / 2, height - 6, col.label, "tick", "middle"))
    return _svg(width, height, title, body)


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_labels: Callable[[float], str] = plain,
    fmt: Formatter = plain,
    width: int = 640,
    height: int = 240,
    zero_line: bool = True,
) -> Markup:
    """Lines over x, each with its interval drawn as a shaded band where points have one."""
    left, right, bottom, top_pad = 56, 110, 24, 10
    points = [p for s in series for p in s.points]
    if not points:
        return _svg(width, height, title, [_text(left, height / 2, "no data yet", "muted")])
    ys = [v for p in points for v in (p.y, p.low, p.high) if v is not None]
    ticks = nice_ticks(min([*ys, 0.0] if zero_line else ys), max(ys), 4)
    x0, x1 = min(p.x for p in points), max(p.x for p in points)
    sx = _scale((x0, x1 if x1 > x0 else x0 + 1), (left, width - right))
    sy = _scale((ticks[0], ticks[-1]), (height - bottom, top_pad))
    body = _y_axis(ticks, left, width - right, sy, fmt)
    if zero_line and ticks[0] < 0 < ticks[-1]:
        body.append(_line(left, sy(0), width - right, sy(0), "zero"))
    for index, one in enumerate(series):
        body += _series(one, index, sx, sy, width - right)
    for x in _x_ticks(x0, x1):
        body.append(_text(sx(x), height - 6, x_labels(x), "tick", "middle"))
    return _svg(width, height, title, body)


def _series(
    one: Series,
    index: int,
    sx: Callable[[float], float],
    sy: Callable[[float], float],
    end: float,
) -> list[str]:
    banded = [p for p in one.points if p.low is not None and p.high is not None]
    body = []
    if len(banded) > 1:
        upper = [f"{sx(p.x):.1f},{sy(p.high):.1f}" for p in banded if p.high is not None]
        lower = [f"{sx(p.x):.1f},{sy(p.low):.1f}" for p in reversed(banded) if p.low is not None]
        body.append(f'<polygon class="band s{index}" points="{" ".join(upper + lower)}"/>')
    path = " ".join(f"{sx(p.x):.1f},{sy(p.y):.1f}" for p in one.points)
    body.append(f'<polyline class="line s{index}" points="{path}"/>')
    last = one.points[-1]
    body.append(_text(end + 6, sy(last.y) + 4, _clip(one.name, 16), f"value s{index}"))
    return body


def forest_plot(
    rows: Sequence[ForestRow], *, title: str, fmt: Formatter = signed_percent, width: int = 860
) -> Markup:
    """Each row's estimate as a dot on its interval, around a line at zero (no effect)."""
    row, label_w, value_w = 30, 260, 190
    height = max(len(rows), 1) * row + 30
    values = [v for r in rows for v in (r.interval or ()) if v is not None]
    values += [r.estimate for r in rows if r.estimate is not None]
    ticks = nice_ticks(min([*values, 0.0]), max([*values, 0.0]), 4)
    sx = _scale((ticks[0], ticks[-1]), (label_w, width - value_w))
    body = [_line(sx(0), 2, sx(0), height - 24, "zero")]
    for t in ticks:
        body.append(_text(sx(t), height - 6, fmt(t), "tick", "middle"))
    for i, r in enumerate(rows):
        y = 4 + i * row + row / 2
        body.append(_text(label_w - 10, y + 4, _clip(r.label, 40), anchor="end"))
        cls = "ci sig" if r.significant else "ci"
        if r.interval is not None:
            low, high = r.interval
            body.append(_line(sx(low), y, sx(high), y, cls))
        if r.estimate is None:
            body.append(_text(label_w + 4, y + 4, "not enough data", "muted"))
            continue
        body.append(f'<circle class="{cls}" cx="{sx(r.estimate):.1f}" cy="{y:.1f}" r="5"/>')
        body.append(_text(width - value_w + 10, y + 4, _forest_value(r, fmt), "value"))
    return _svg(width, height, title, body)


def _forest_value(r: ForestRow, fmt: Formatter) -> str:
    assert r.estimate is not None
    if r.interval is None:
        return fmt(r.estimate)
    return f"{fmt(r.estimate)} [{fmt(r.interval[0])}, {fmt(r.interval[1])}]"


def _y_axis(
    ticks: Sequence[float], left: float, right: float, sy: Callable[[float], float], fmt: Formatter
) -> list[str]:
    body = []
    for t in ticks:
        body.append(_line(left, sy(t), right, sy(t), "grid"))
        body.append(_text(left - 6, sy(t) + 4, fmt(t), "tick", "end"))
    return body


def _x_ticks(x0: float, x1: float) -> list[float]:
    if x1 <= x0:
        return [x0]
    return [x0 + (x1 - x0) * i / 4 for i in range(5)]


def _scale(domain: tuple[float, float], out: tuple[float, float]) -> Callable[[float], float]:
    (d0, d1), (r0, r1) = domain, out
    width = d1 - d0 if d1 != d0 else 1.0
    return lambda v: r0 + (v - d0) * (r1 - r0) / width


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high - 1e-12 * step:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
