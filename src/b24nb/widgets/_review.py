"""The review's own controls: rule-keeping bulk ticks, per-pair decisions, Export.

Why apart from :mod:`.picker`: these are what an analyst uses to *decide* (as opposed to
run): they read and write only the frame (``selected``, ``decision``, ``decided_at``) and the
journal's ``decisions`` table, never the portal, so they stay small and testable; the picker
only lays them out and calls them.
"""

from __future__ import annotations

import html
from typing import Any, Protocol

import ipywidgets as w
import numpy as np
import pandas as pd

from b24nb.journal.verdicts import set_decision
from b24nb.report import export_log
from b24nb.widgets._bulk import tick_all_plan
from b24nb.widgets._explain import header_html
from b24nb.widgets._layout import guarded

__all__ = ["Grid", "ReviewControls"]


class Grid(Protocol):
    """What the review controls use of the grid they sit in (the picker is one).

    Stated here so these controls depend on an interface, not on the picker's module.
    """

    pairs: pd.DataFrame
    portal: Any
    actions: Any  # set_selected(positions, value), journal
    threshold: Any  # the score slider: .value
    _view: np.ndarray  # row positions the filters show now


class ReviewControls:
    """Bulk-tick, untick, decision and export controls of one grid (a ``MatchPicker``).

    Parameters
    ----------
    picker
        The grid these controls act on.
    export_path
        Where *Export* writes first (``.csv`` or ``.xlsx``; the text box changes it).
    record
        Write each decision to the journal's ``decisions`` table as well as the frame.
    """

    def __init__(self, picker: Grid, *, export_path: str = "b24nb-log.csv",
                 record: bool = True) -> None:
        self.picker = picker
        self.record = record
        auto = w.Layout(width="auto")
        self.include_rebinds = w.Checkbox(value=False, description="include rebinds",
                                          indent=False, layout=w.Layout(width="130px"))
        self.include_rebinds.tooltip = ("also tick pairs that move an order bound to another "
                                        "owner today (off: Tick all ≥ keeps the pre-tick rule)")
        self.untick_all_button = w.Button(description="Untick all", icon="square-o",
                                          layout=auto, tooltip="untick every pair of the frame")
        self.untick_shown_button = w.Button(description="Untick shown", icon="filter",
                                            layout=auto,
                                            tooltip="untick every pair the filters show")
        self.export_path = w.Text(value=export_path, description="export to",
                                  layout=w.Layout(width="300px"),
                                  tooltip="a .csv or .xlsx file name")
        self.export_button = w.Button(description="Export", icon="download", layout=auto,
                                      tooltip="write the log (every bind_* and decision "
                                              "column) as CSV or Excel")
        self.header = w.HTML(header_html(_grid_style()))

    # ------------------------------------------------------------------ bulk ticks
    def tick_all(self) -> str:
        """Tick what the pre-tick rule would at the slider's threshold; say what it did."""
        picker = self.picker
        threshold = float(picker.threshold.value)
        plan = tick_all_plan(picker.pairs, picker._view, threshold,
                             include_rebinds=bool(self.include_rebinds.value))
        picker.actions.set_selected(plan.positions, True)
        text = (f"ticked {len(plan.positions):,} pair(s) scoring ≥ {threshold:.2f}: the best "
                "candidate of each order, not ambiguous")
        text += (f", {plan.rebinds:,} of them rebind(s) of orders bound elsewhere"
                 if self.include_rebinds.value else ", no rebinds")
        if plan.held_back:
            text += (f"; {plan.held_back:,} other pair(s) ≥ {threshold:.2f} held back "
                     "(second candidates, ambiguous, bound elsewhere, shared deals, rejected "
                     "or order already taken)")
        return text

    def untick(self, positions: np.ndarray) -> int:
        """Untick the rows at ``positions``; returns how many were ticked."""
        pairs = self.picker.pairs
        was = int(pairs["selected"].iloc[positions].to_numpy(dtype=bool, na_value=False).sum())
        self.picker.actions.set_selected(positions, False)
        return was

    # ------------------------------------------------------------------ decisions
    def decide(self, pair_id: Any, decision: str | None) -> None:
        """Set a pair's decision in the frame and (``record``) the journal."""
        picker = self.picker
        position = picker.pairs.index.get_loc(pair_id)
        set_decision(picker.pairs, [position], decision, portal=picker.portal,
                     journal=picker.actions.journal, record=self.record)

    # ------------------------------------------------------------------ export
    def export(self) -> str:
        """Write the log now (the frame as it is at this click) and say where."""
        path, n = export_log(self.picker.pairs, self.export_path.value.strip()
                             or "b24nb-log.csv")
        return (f"exported {n:,} row(s) (every pair sent, dry-run or decided, with all "
                f"bind_* and decision columns) to {html.escape(str(path.resolve()))}")


class ReviewHandlers:
    """The picker's handlers for these controls (mixed into :class:`MatchPicker`)."""

    review: ReviewControls
    rows: list[Any]
    _filling: bool
    _busy: bool

    @guarded
    def _on_untick_all(self, _button: w.Button) -> None:
        n = self.review.untick(np.arange(len(self.pairs), dtype=np.intp))
        self._say(f"unticked all {n:,} ticked pair(s)")
        self._recompute_view()
        self._redraw()

    @guarded
    def _on_untick_shown(self, _button: w.Button) -> None:
        n = self.review.untick(self._view)
        self._say(f"unticked the {n:,} ticked pair(s) the filters showed")
        self._recompute_view()
        self._redraw()

    def _on_decision(self, slot: int, change: dict) -> None:
        if self._filling:
            return
        if self._busy:  # like a tick: a decision that cannot be taken now must not look taken
            self._filling = True
            try:
                self.rows[slot].decision.value = change["old"]
            finally:
                self._filling = False
            return
        self._decide(slot, change["new"] or None)

    @guarded
    def _decide(self, slot: int, decision: str | None) -> None:
        pid = self.rows[slot].pair_id
        if pid is None:
            return
        self.review.decide(pid, decision)
        self._say(html.escape(f"pair {pid}: {decision or 'undecided'}"))
        self._refresh_counts()
        self._redraw()

    @guarded
    def _on_export(self, _button: w.Button) -> None:
        self._say(self.review.export())



def _grid_style() -> str:
    from b24nb.widgets._html import _GRID  # the rows' own layout, so headers line up

    return _GRID
