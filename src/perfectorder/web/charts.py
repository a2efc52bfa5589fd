"""Small SVG charts drawn on the server: a line of rates over days with axis labels and units."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape


def rate_line(points: Sequence[tuple[date, float | None, int]], *, title: str) -> str:
    """Perfect order rate per period (line, left axis in %) over order volume (bars, right axis)."""
    width, height, left, right, top, bottom = 720, 260, 48, 48, 24, 40
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
    every = max(1, len(points) // 8)
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
        f'<text x="{left + plot_w}" y="14" class="axis" text-anchor="end">bars: final orders per day '
        f"(max {most})</text>"
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" class="axis" '
        'text-anchor="middle">day placed</text>'
        "</svg>"
    )
