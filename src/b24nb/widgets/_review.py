"""The review's own controls: rule-keeping bulk ticks, per-pair decisions, Export.

Why apart from :mod:`.picker`: these are what an analyst uses to *decide* (as opposed to
run): they read and write only the frame (``selected``, ``decision``, ``decided_at``) and the
journal's ``decisions`` table, never the portal, so they stay small and testable. They act on
the grid through the :class:`~b24nb.widgets._grid.Grid` protocol; the picker lays them out and
wires their buttons through its one handler guard.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import numpy as np

from b24nb.journal.verdicts import set_decision
from b24nb.report import export_log
from b24nb.widgets._bulk import tick_all_plan
from b24nb.widgets._explain import header_html
from b24nb.widgets._grid import Grid
from b24nb.widgets._html import GRID_STYLE
from b24nb.widgets._looks import Looks
from b24nb.widgets._toolbars import AUTO

__all__ = ["ReviewControls"]


class ReviewControls:
    """Bulk-tick, untick, decision and export controls of one grid (a ``MatchPicker``).

    Parameters
    ----------
    grid
        The grid these controls act on.
    looks
        The grid's shared layouts and styles.
    export_path
        Where *Export* writes first (``.csv`` or ``.xlsx``; the text box changes it).
    record
        Write each decision to the journal's ``decisions`` table as well as the frame.
    """

    def __init__(self, grid: Grid, looks: Looks, *, export_path: str = "b24nb-log.csv",
                 record: bool = True) -> None:
        self.grid = grid
        self.record = record
        self.include_rebinds = looks.make(w.Checkbox, value=False, description="include rebinds",
                                          indent=False, layout={"width": "130px"})
        self.include_rebinds.tooltip = ("also tick pairs that move an order bound to another "
                                        "owner today (off: Tick all ≥ keeps the pre-tick rule)")
        self.untick_all_button = looks.make(w.Button, description="Untick all", icon="square-o",
                                            layout=AUTO, tooltip="untick every pair of the frame")
        self.untick_shown_button = looks.make(w.Button, description="Untick shown",
                                              icon="filter", layout=AUTO,
                                              tooltip="untick every pair the filters show")
        self.export_path = looks.make(w.Text, value=export_path, description="export to",
                                      layout={"width": "300px"},
                                      tooltip="a .csv or .xlsx file name")
        self.export_button = looks.make(w.Button, description="Export", icon="download",
                                        layout=AUTO, tooltip="write the log (every bind_* and "
                                        "decision column) as CSV or Excel")
        # the rows' columns: headers line up
        self.header = looks.make(w.HTML, header_html(GRID_STYLE))

    # ------------------------------------------------------------------ bulk ticks
    def tick_all(self) -> str:
        """Tick what the pre-tick rule would at the slider's threshold; say what it did."""
        grid = self.grid
        threshold = float(grid.threshold.value)
        plan = tick_all_plan(grid.pairs, grid.view, threshold,
                             include_rebinds=bool(self.include_rebinds.value))
        grid.actions.set_selected(plan.positions, True)
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
        pairs = self.grid.pairs
        was = int(pairs["selected"].iloc[positions].to_numpy(dtype=bool, na_value=False).sum())
        self.grid.actions.set_selected(positions, False)
        return was

    # ------------------------------------------------------------------ decisions
    def decide(self, pair_id: Any, decision: str | None) -> None:
        """Set a pair's decision in the frame and (``record``) the journal."""
        grid = self.grid
        position = grid.pairs.index.get_loc(pair_id)
        set_decision(grid.pairs, [position], decision, portal=grid.portal,
                     journal=grid.actions.journal, record=self.record)

    # ------------------------------------------------------------------ export
    def export(self) -> str:
        """Write the log now (the frame as it is at this click) and say where."""
        path, n = export_log(self.grid.pairs, self.export_path.value.strip()
                             or "b24nb-log.csv")
        return (f"exported {n:,} row(s) (every pair sent, dry-run or decided, with all "
                f"bind_* and decision columns) to {html.escape(str(path.resolve()))}")

    # ------------------------------------------------------------------ handlers
    # each runs through the grid's guard (``MatchPicker.handle``): once at a time, errors shown
    def on_tick_page(self) -> None:
        """*Tick page*: every pair of the page whose order no other pair holds."""
        grid = self.grid
        positions = grid.page_positions()
        free = [p for p, b in zip(positions.tolist(), grid.blocked_by(positions), strict=True)
                if b is None]
        grid.actions.set_selected(np.array(free, dtype=np.intp), True)
        grid.redraw()

    def on_untick_page(self) -> None:
        """*Untick page*."""
        self.grid.actions.set_selected(self.grid.page_positions(), False)
        self._after_bulk("")

    def on_tick_all(self) -> None:
        """*Tick all ≥ threshold* (see :meth:`tick_all`)."""
        self._after_bulk(html.escape(self.tick_all()))

    def on_untick_all(self) -> None:
        """*Untick all*: every pair of the frame."""
        n = self.untick(np.arange(len(self.grid.pairs), dtype=np.intp))
        self._after_bulk(f"unticked all {n:,} ticked pair(s)")

    def on_untick_shown(self) -> None:
        """*Untick shown*: every pair the filters show."""
        n = self.untick(self.grid.view)
        self._after_bulk(f"unticked the {n:,} ticked pair(s) the filters showed")

    def _after_bulk(self, text: str) -> None:
        self.grid.say(text)
        self.grid.recompute_view()  # the "selected"/"not selected" filters now show others
        self.grid.redraw()

    def on_decision(self, pair_id: Any, decision: str | None) -> None:
        """A row's decision menu changed."""
        self.decide(pair_id, decision)
        self.grid.say(html.escape(f"pair {pair_id}: {decision or 'undecided'}"))
        self.grid.refresh_counts()
        self.grid.redraw()

    def on_export(self) -> None:
        """*Export*: write the log and say where."""
        self.grid.say(self.export())
