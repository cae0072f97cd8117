"""Building blocks of the review grid: the pooled row and the handler guard.

Why apart: both are small, generic and independent of what the grid shows; keeping them here
leaves :mod:`b24nb.widgets.picker` about the grid itself.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

import ipywidgets as w

__all__ = ["DECISION_OPTIONS", "DEFAULT_THRESHOLD", "POOL_SIZE", "Row", "guarded"]

POOL_SIZE = 50  # the largest page; rows are made as pages need them, then hidden, never destroyed

#: where the "tick all ≥" slider starts: ``suggest(high=0.99)``'s default, so the button ticks
#: what the matcher would pre-tick (a test keeps the two equal)
DEFAULT_THRESHOLD = 0.99


def guarded(method: Callable[..., None]) -> Callable[..., None]:
    """Run a widget handler at most once at a time and show any error it raises."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            # the frame lock: a background run writes the frame only while holding it
            with getattr(self, "lock", None) or contextlib.nullcontext():
                method(self, *args)
        except Exception as exc:  # shown to the analyst in the widget, not swallowed
            self._show_error(exc)
        finally:
            self._busy = False

    return wrapper


#: the decision menu of a row: label -> ``decision`` value ("" = undecided)
DECISION_OPTIONS: tuple[tuple[str, str], ...] = (
    ("undecided", ""), ("accept", "accept"), ("unsure", "unsure"), ("reject", "reject"))


class Row:
    """One pooled row: a checkbox, an HTML cell, a decision menu, and the pair it shows now.

    Rows after the first share the first row's layouts and styles (``like=``): they never
    change, and each would otherwise be one more widget model the browser must create before
    the grid shows (six of a row's ten). Only the row's own box layout is its own, since
    hiding a row sets its ``display``.
    """

    def __init__(self, like: Row | None = None) -> None:
        if like is None:
            tick = {"layout": w.Layout(width="28px", flex="0 0 28px")}
            cell = {"layout": w.Layout(flex="1 1 auto", width="100%")}
            menu = {"layout": w.Layout(width="105px", flex="0 0 105px")}
        else:
            tick = {"layout": like.checkbox.layout, "style": like.checkbox.style}
            cell = {"layout": like.html.layout, "style": like.html.style}
            menu = {"layout": like.decision.layout, "style": like.decision.style}
        self.checkbox = w.Checkbox(value=False, indent=False, description="", **tick)
        self.html = w.HTML(**cell)
        self.decision = w.Dropdown(options=DECISION_OPTIONS, value="", **menu)
        self.decision.add_class("b24nb-decide")
        self.box = w.HBox([self.checkbox, self.html, self.decision],
                          layout=w.Layout(border_bottom="1px solid #eee", align_items="center"))
        self.box.add_class("b24nb-pool-row")  # a stable hook for browser tests and CSS
        self.pair_id: Any = None
