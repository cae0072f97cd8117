"""What the grid's parts may use of the grid: the :class:`Grid` and :class:`RunGrid` protocols.

Why protocols: the review controls (:mod:`._review`) and the run view (:mod:`._runview`) act
on the grid they sit in, and :class:`~b24nb.widgets.picker.MatchPicker` is built from them;
typed against these small interfaces they need neither the picker's module (no import circle)
nor its private state.
"""

from __future__ import annotations

from typing import Any, Protocol

import ipywidgets as w
import numpy as np
import pandas as pd

from b24nb.widgets._actions import Actions

__all__ = ["Grid", "RunGrid"]


class Grid(Protocol):
    """The grid as the review controls see it: the frame, the run controller, the redraws."""

    pairs: pd.DataFrame
    portal: Any
    actions: Actions
    threshold: w.FloatSlider  # the "tick ≥" slider

    @property
    def view(self) -> np.ndarray:
        """Row positions the filters show now, in display order."""
        ...

    def page_positions(self) -> np.ndarray:
        """Row positions of the current page, in display order."""
        ...

    def blocked_by(self, positions: np.ndarray) -> list[Any]:
        """For each position, the pair id already holding its order, or None."""
        ...

    def say(self, text: str) -> None:
        """Show one line (HTML, already escaped) under the grid."""
        ...

    def recompute_view(self) -> None:
        """Re-apply the filters (after a change to what they select)."""
        ...

    def redraw(self) -> None:
        """Redraw the page and what depends on the ticks."""
        ...

    def refresh_counts(self) -> None:
        """Recount the statuses and decisions for the summary line."""
        ...


class RunGrid(Grid, Protocol):
    """The grid as the run view sees it: also the frame lock and the run path's widgets."""

    lock: Any  # the frame lock (threading.RLock) every handler and the run hold
    dry_run: w.Checkbox
    allow_rebind: w.Checkbox
    bind_button: w.Button
    retry_button: w.Button
    undo_button: w.Button
    confirm_html: w.HTML
    confirm_box: w.VBox
    progress: w.IntProgress
    progress_label: w.Label
    progress_box: w.HBox
    stop_button: w.Button
    message: w.HTML

    def show_error(self, exc: BaseException) -> None:
        """Show an error under the grid (redacted) and log it."""
        ...

    def render_page(self) -> None:
        """Refill the page's rows from the frame: O(page)."""
        ...
