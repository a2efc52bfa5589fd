"""Small SVG charts drawn on the server: a line of rates over days with axis labels and units."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from html import escape

NARROW = 320  # a phone's chart: drawn for its width, so its 11 px labels stay 11 px on screen
WIDE = 720


def responsive(draw: Callable[[int], str]) -> str:
    """The chart drawn twice, for wide and narrow screens; the style sheet shows the one that fits.
    One drawing scaled down to a phone made its labels about 5 px tall."""
    return f'<div class="chart-wide">{draw(WIDE)}</div><div class="chart-narrow">{draw(NARROW)}</div>'


def rate_line(points: Sequence[tuple[date, float | None, int]], *, title: str, width: int = WIDE) -> str:
    """Perfect order rate per period (line, left axis in %) over order volume (bars, right axis)."""
    narrow = width < WIDE
    height, left, right, top, bottom = (
        260,
        40 if narrow else 48,
        12 if narrow else 48,
        38 if narrow else 24,
        40,
    )
    plot_w, plot_h = width - left - right, height - top - bottom
    if not points:
        return f'<p class="empty">No final orders in this period yet: {escape(title)}.</p>'
    most = max(n for _, _, n in points) or 1
    step = plot_w / max(len(points), 1)
    bars, line = [], []
    for i, (day, rate, n) in enumerate(points):
        x = left + i * step
        h = plot_h * n / most
        bars.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" class="bar"><title>{day}: {n} final orders</title></rect>'
        )
        if rate is not None:
            y = top + plot_h * (1 - rate)
            line.append(f"{x + step / 2:.1f},{y:.1f}")
    ticks = []
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        ticks.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{pct}%</text>'
        )
    labels = []
    every = max(1, len(points) // (3 if narrow else 8))
    for i, (day, _, _) in enumerate(points):
        if i % every == 0:
            labels.append(
                f'<text x="{left + i * step + step / 2:.1f}" y="{top + plot_h + 16}" class="tick" '
                f'text-anchor="middle">{day:%d %b}</text>'
            )
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" class="chart">'
        f"<title>{escape(title)}</title>{''.join(ticks)}{''.join(bars)}"
        f'<polyline points="{" ".join(line)}" class="line"/>{"".join(labels)}'
        f'<text x="{left}" y="14" class="axis">perfect order rate (%)</text>'
        + (
            f'<text x="{left}" y="30" class="axis">bars: final orders per day (max {most})</text>'
            if narrow
            else f'<text x="{left + plot_w}" y="14" class="axis" text-anchor="end">bars: final orders per '
            f"day (max {most})</text>"
        )
        + f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" class="axis" '
        'text-anchor="middle">day placed</text>'
        "</svg>"
    )


def bars(
    items: Sequence[tuple[str, float]], *, title: str, unit: str, percent: bool = False, width: int = WIDE
) -> str:
    """Horizontal bars, one per label, longest first as given; the value is written at the bar's end."""
    if not items:
        return f'<p class="empty">Nothing to show yet: {escape(title)}.</p>'
    narrow = width < WIDE
    row, left, right = 26, 120 if narrow else 170, 52 if narrow else 70
    height = 34 + row * len(items) + 24
    plot_w = width - left - right
    most = max(v for _, v in items) or 1
    parts = []
    for i, (label, value) in enumerate(items):
        y = 30 + i * row
        w = plot_w * value / most
        shown = f"{value * 100:.1f}%" if percent else f"{value:g}"
        name = label if not narrow or len(label) <= 18 else label[:17] + "…"
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" class="tick" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" class="s0">'
            f"<title>{escape(label)}: {shown} {escape(unit)}</title></rect>"
            f'<text x="{left + w + 4:.1f}" y="{y + 15}" class="tick">{shown}</text>'
        )
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" class="chart">'
        f"<title>{escape(title)}</title>"
        f'<text x="{left}" y="16" class="axis">{escape(title)} ({escape(unit)})</text>{"".join(parts)}'
        f'<line x1="{left}" x2="{left}" y1="28" y2="{height - 22}" class="grid"/>'
        "</svg>"
    )


def stacked_columns(
    columns: Sequence[tuple[str, Mapping[str, int]]],
    *,
    series: Sequence[str],
    title: str,
    unit: str,
    x_label: str,
    width: int = WIDE,
) -> str:
    """One column per period, stacked by series (at most 8 colours; the rest are added to the last),
    with a legend, a value axis and the period under each column."""
    if not columns or not series:
        return f'<p class="empty">Nothing to show yet: {escape(title)}.</p>'
    shown = list(series[:7]) + (["other"] if len(series) > 7 else [])

    def parts_of(values: Mapping[str, int]) -> list[int]:
        head = [values.get(s, 0) for s in series[:7]]
        return head + ([sum(values.get(s, 0) for s in series[7:])] if len(series) > 7 else [])

    per_row = 2 if width < WIDE else 4
    left, right, top, bottom = 48, 16, 30, 46 + 18 * ((len(shown) + per_row - 1) // per_row)
    height = 300
    plot_w, plot_h = width - left - right, height - top - bottom
    most = max((sum(parts_of(v)) for _, v in columns), default=0) or 1
    step = plot_w / len(columns)
    out = []
    for i, (label, values) in enumerate(columns):
        x, base = left + i * step + step * 0.15, float(top + plot_h)
        for k, value in enumerate(parts_of(values)):
            h = plot_h * value / most
            if value:
                out.append(
                    f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{step * 0.7:.1f}" '
                    f'height="{h:.1f}" class="s{k}">'
                    f"<title>{escape(label)}, {escape(shown[k])}: {value} {escape(unit)}</title></rect>"
                )
            base -= h
    ticks = []
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        ticks.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{most * frac:g}</text>'
        )
    every = max(1, len(columns) // (4 if width < WIDE else 8))
    labels = [
        f'<text x="{left + i * step + step / 2:.1f}" y="{top + plot_h + 16}" class="tick" '
        f'text-anchor="middle">{escape(label)}</text>'
        for i, (label, _) in enumerate(columns)
        if i % every == 0
    ]
    legend = []
    for k, name in enumerate(shown):
        lx, ly = (
            left + (k % per_row) * (135 if per_row == 2 else 170),
            top + plot_h + 44 + (k // per_row) * 18,
        )
        legend.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" class="s{k}"/>'
            f'<text x="{lx + 16}" y="{ly}" class="tick">{escape(name.replace("_", " "))}</text>'
        )
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" class="chart">'
        f"<title>{escape(title)}</title>{''.join(ticks)}{''.join(out)}{''.join(labels)}{''.join(legend)}"
        f'<text x="{left}" y="16" class="axis">{escape(title)} ({escape(unit)})</text>'
        f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 30}" class="axis" text-anchor="middle">'
        f"{escape(x_label)}</text></svg>"
    )
