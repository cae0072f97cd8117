"""The health charts as inline SVG: drawn in milliseconds, shown by every notebook front end.

Why not matplotlib here: the health report is displayed before the review grid, and a
matplotlib PNG of three panels took about a second (import, constrained layout, rasterising)
on the machine the notebook's first-page figure is measured on — longer than the findings
themselves. Three bar panels need no plotting library: rectangles and text in one ``<svg>``,
escaped, with the numbers on the bars. :meth:`HealthReport.figure` still gives a matplotlib
Figure for anyone who wants to restyle or save it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["Panel", "health_svg"]

BLUE, GREY, ORANGE, GREEN = "#3b75af", "#bbbbbb", "#d9823b", "#5a9e5a"
_W, _H, _TOP, _BOTTOM = 330, 250, 28, 40  # one panel; margins for the title and axis labels


def _text(x: float, y: float, s: str, *, size: int = 11, anchor: str = "start",
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" font-family="sans-serif">{html.escape(s)}</text>')


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
            f'fill="{fill}"><title>{html.escape(tip)}</title></rect>')


class Panel:
    """One chart of the row, drawn into a group shifted ``x`` pixels right."""

    def __init__(self, x: float, width: float, title: str) -> None:
        self.x, self.width = x, width
        self.parts = [_text(x + width / 2, 16, title, size=12, anchor="middle", weight="bold")]

    def svg(self) -> str:
        return "".join(self.parts)


def _findings(panel: Panel, names: Sequence[str], now: Sequence[int],
              before: Sequence[int] | None) -> None:
    """Horizontal bars per finding: blue now, grey before (when given), counts at the ends."""
    label_w = 120
    x0, span = panel.x + label_w, panel.width - label_w - 40
    top = max([*now, *(before or []), 1])
    row = (_H - _TOP - 26) / max(len(names), 1)  # room below for the legend
    for i, name in enumerate(names):
        y = _TOP + i * row
        panel.parts.append(_text(x0 - 6, y + row * 0.62, name.replace("_", " "), size=10,
                                 anchor="end"))
        bars = [(now[i], BLUE, "now")] if before is None else [
            (before[i], GREY, "before"), (now[i], BLUE, "after")]
        h = row * 0.8 / len(bars)
        for k, (v, colour, what) in enumerate(bars):
            w = span * v / top
            yy = y + row * 0.1 + k * h
            panel.parts.append(_rect(x0, yy, w, h, colour, f"{name} {what}: {v:,}"))
            panel.parts.append(_text(x0 + w + 3, yy + h * 0.8, f"{v:,}", size=9))


def _columns(panel: Panel, labels: Sequence[str], values: Sequence[float], colour: str,
             xlabel: str, *, log: bool = False, every: int = 0) -> None:
    """Vertical bars (a histogram's bins or categories), optionally on a log scale."""
    x0, span = panel.x + 34, panel.width - 44
    base, height = _H - _BOTTOM, _H - _BOTTOM - _TOP
    panel.parts.append(f'<line x1="{x0:.1f}" y1="{base}" x2="{x0 + span:.1f}" y2="{base}" '
                       'stroke="#444"/>')
    panel.parts.append(_text(x0 + span / 2, _H - 8, xlabel, size=10, anchor="middle"))
    if not len(values):
        panel.parts.append(_text(x0 + span / 2, base - height / 2, "none", anchor="middle"))
        return
    top = max(max(values), 1)
    scale = (lambda v: math.log10(v + 1) / math.log10(top + 1)) if log else (lambda v: v / top)
    panel.parts.append(_text(x0 - 4, _TOP + 8, f"{top:,.0f}", size=9, anchor="end"))
    width = span / len(values)
    step = every or max(1, math.ceil(len(labels) / 8))  # about 8 labels under the axis at most
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = height * scale(v) if v > 0 else 0.0
        x = x0 + i * width
        panel.parts.append(_rect(x + 0.5, base - h, width - 1, h, colour, f"{label}: {v:,.0f}"))
        if i % step == 0:
            panel.parts.append(_text(x + width / 2, base + 13, label, size=9, anchor="middle"))


def health_svg(names: Sequence[str], now: Sequence[int], before: Sequence[int] | None,
               gaps_pct: np.ndarray, per_owner: dict[int, int]) -> str:
    """Three panels: findings (rows), amount gaps (% of the owner's amount), orders per owner.

    ``gaps_pct`` are the amount mismatches' relative gaps in percent (clipped to ±100, in
    5 % bins); ``per_owner`` maps "orders on one
    owner" to how many owners hold that many (log scale: a few owners hold very many).
    """
    first = Panel(0, 420, "findings (rows)")
    _findings(first, names, now, before)
    second = Panel(430, _W, "amount gap, % of owner amount")
    gaps = np.clip(np.asarray(gaps_pct, dtype=float), -100, 100)
    gaps = gaps[np.isfinite(gaps)]
    # 5 % bins, labelled at -100, -50, 0 and 50 (each bar's tip gives its own range)
    counts, edges = np.histogram(gaps, bins=40, range=(-100, 100)) if len(gaps) else ([], [])
    _columns(second, [f"{e:.0f}" for e in edges[:-1]], list(counts), ORANGE,
             "orders' total − owner amount (%)", every=10)
    third = Panel(430 + _W + 10, _W, "orders per owner (owners)")
    keys = sorted(per_owner)
    _columns(third, [str(k) for k in keys], [per_owner[k] for k in keys], GREEN,
             "orders on one owner", log=True)
    width = 430 + 2 * _W + 10
    legend = "" if before is None else (
        _rect(8, _H - 14, 10, 10, GREY, "before") + _text(22, _H - 5, "before", size=10)
        + _rect(70, _H - 14, 10, 10, BLUE, "after") + _text(84, _H - 5, "after", size=10))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_H}" '
            f'viewBox="0 0 {width} {_H}" role="img" aria-label="health charts">'
            f"{first.svg()}{second.svg()}{third.svg()}{legend}</svg>")
