"""The pooled rows of the review grid: one row's widgets, and the pool that refills them.

Why a pool (research notebook-ux.md §A.3): creating widgets is what is expensive, updating
them is cheap. The rows for the first page are built once, a bigger page adds the rest when
chosen, and a page change only refills them; a row is hidden when the page is short, never
destroyed. Why apart from :mod:`b24nb.widgets.picker`: the pool knows nothing of the frame,
only of the values it is given to show and the changes the analyst makes.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import ipywidgets as w

__all__ = ["DECISION_OPTIONS", "POOL_SIZE", "Row", "RowPool"]

POOL_SIZE = 50  # the largest page; rows are made as pages need them, then hidden, never destroyed

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

    def show(self, pair_id: Any, record: Mapping[str, Any], cell: str, *, held: bool,
             running: bool) -> None:
        """Show one pair; ``held``: its tick is locked (bound, or its order taken elsewhere)."""
        self.pair_id = pair_id
        self.html.value = cell
        self.checkbox.value = bool(record.get("selected") is True)
        decision = record.get("decision")
        self.checkbox.disabled = bool(running or held or decision == "reject")
        self.decision.value = decision if isinstance(decision, str) else ""
        self.decision.disabled = bool(running)
        self.box.layout.display = None

    def hide(self) -> None:
        """An empty slot at the end of a short page."""
        self.pair_id = None
        self.box.layout.display = "none"


class RowPool:
    """The grid's rows: made for the first page, grown for a bigger one, refilled per page.

    Parameters
    ----------
    size
        Rows to make now (the first page's; capped at :data:`POOL_SIZE`).
    on_tick, on_decision
        ``(slot, new value)`` when the analyst ticks a row or picks its decision.
    busy
        Whether the grid is inside a handler now; a change made then is refused *and put
        back*, so a box never claims a tick the frame did not take.
    """

    def __init__(self, size: int, *, on_tick: Callable[[int, Any], None],
                 on_decision: Callable[[int, Any], None], busy: Callable[[], bool]) -> None:
        self._on = {"checkbox": on_tick, "decision": on_decision}
        self._busy = busy
        self.filling = False  # True while the pool sets values itself (not the analyst)
        # rows for the first page only; a bigger page adds the rest when chosen (each row is
        # about a dozen widget models the browser must create before the grid shows)
        first = Row()
        self.rows: list[Row] = [first]
        self.rows += [Row(like=first) for _ in range(min(size, POOL_SIZE) - 1)]
        for slot, row in enumerate(self.rows):
            self._wire(slot, row)
        self.box = w.VBox([r.box for r in self.rows])

    def _wire(self, slot: int, row: Row) -> None:
        for part in ("checkbox", "decision"):
            getattr(row, part).observe(functools.partial(self._changed, slot, part),
                                       names="value")

    def grow(self, size: int) -> None:
        """Rows up to ``size`` (a bigger page was chosen); rows are never taken away."""
        new = [Row(like=self.rows[0]) for _ in range(len(self.rows), min(size, POOL_SIZE))]
        for slot, row in enumerate(new, start=len(self.rows)):
            self._wire(slot, row)
        if new:
            self.rows.extend(new)
            self.box.children = [r.box for r in self.rows]

    @contextlib.contextmanager
    def refilling(self) -> Iterator[None]:
        """Set row values without taking them for the analyst's."""
        self.filling = True
        try:
            yield
        finally:
            self.filling = False

    def _changed(self, slot: int, part: str, change: dict) -> None:
        if self.filling:  # the refill itself, not the analyst
            return
        if self._busy():  # a change that cannot be taken now must not look taken
            with self.refilling():
                getattr(self.rows[slot], part).value = change["old"]
            return
        self._on[part](slot, change["new"])

    def fill(self, ids: Sequence[Any], records: Sequence[Mapping[str, Any]],
             cells: Sequence[str], held: Sequence[bool], *, running: bool) -> None:
        """Show ``ids`` top to bottom (with their records, HTML cells and held ticks)."""
        with self.refilling():
            for slot, row in enumerate(self.rows):
                if slot >= len(records):
                    row.hide()
                else:
                    row.show(ids[slot], records[slot], cells[slot], held=held[slot],
                             running=running)
