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

from b24nb.widgets._looks import Looks

__all__ = ["CELL_CSS", "DECISION_OPTIONS", "MENU_CSS", "POOL_SIZE", "TICK_CSS", "Row", "RowPool"]

POOL_SIZE = 50  # the largest page; rows are made as pages need them, then hidden, never destroyed

#: the widths of a row's tick and decision columns (the header's spacers use them too)
TICK_CSS = {"width": "28px", "flex": "0 0 28px"}
MENU_CSS = {"width": "105px", "flex": "0 0 105px"}
CELL_CSS = {"flex": "1 1 auto", "width": "100%"}

#: the decision menu of a row: label -> ``decision`` value ("" = undecided)
DECISION_OPTIONS: tuple[tuple[str, str], ...] = (
    ("undecided", ""), ("accept", "accept"), ("unsure", "unsure"), ("reject", "reject"))


class Row:
    """One pooled row: a checkbox, an HTML cell, a decision menu, and the pair it shows now.

    Every row takes its layouts and styles from the grid's :class:`~._looks.Looks`: they never
    change, and each would otherwise be one more widget model the browser must create before
    the grid shows (seven of a row's eleven). A row is hidden by leaving it out of the pool's
    box (:meth:`RowPool.fill`), not by its layout, so its box layout is shared too.
    """

    def __init__(self, looks: Looks) -> None:
        self.checkbox = looks.make(w.Checkbox, value=False, indent=False, description="",
                                   layout=TICK_CSS)
        self.html = looks.make(w.HTML, layout=CELL_CSS)
        self.decision = looks.make(w.Dropdown, options=DECISION_OPTIONS, value="",
                                   layout=MENU_CSS)
        self.decision.add_class("b24nb-decide")
        self.box = looks.make(w.HBox, [self.checkbox, self.html, self.decision],
                              layout={"border_bottom": "1px solid #eee", "align_items": "center"})
        self.box.add_class("b24nb-pool-row")  # a stable hook for browser tests and CSS
        self.pair_id: Any = None
        self.hidden = False  # past the end of a short page: left out of the pool's box

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
        self.hidden = False

    def hide(self) -> None:
        """An empty slot at the end of a short page (the pool leaves it out of its box)."""
        self.pair_id = None
        self.hidden = True


class RowPool:
    """The grid's rows: made for the first page, grown for a bigger one, refilled per page.

    Parameters
    ----------
    size
        Rows to make now (the first page's; capped at :data:`POOL_SIZE`).
    looks
        The grid's shared layouts and styles.
    on_tick, on_decision
        ``(slot, new value)`` when the analyst ticks a row or picks its decision.
    busy
        Whether the grid is inside a handler now; a change made then is refused *and put
        back*, so a box never claims a tick the frame did not take.
    """

    def __init__(self, size: int, looks: Looks, *, on_tick: Callable[[int, Any], None],
                 on_decision: Callable[[int, Any], None], busy: Callable[[], bool]) -> None:
        self._on = {"checkbox": on_tick, "decision": on_decision}
        self._busy = busy
        self.filling = False  # True while the pool sets values itself (not the analyst)
        # rows for the first page only; a bigger page adds the rest when chosen (each row is
        # four widget models of its own the browser must create before the grid shows)
        self.looks = looks
        self.rows: list[Row] = [Row(looks) for _ in range(min(size, POOL_SIZE))]
        for slot, row in enumerate(self.rows):
            self._wire(slot, row)
        self.box = w.VBox([r.box for r in self.rows])

    def _wire(self, slot: int, row: Row) -> None:
        for part in ("checkbox", "decision"):
            getattr(row, part).observe(functools.partial(self._changed, slot, part),
                                       names="value")

    def grow(self, size: int) -> None:
        """Rows up to ``size`` (a bigger page was chosen); rows are never taken away."""
        new = [Row(self.looks) for _ in range(len(self.rows), min(size, POOL_SIZE))]
        for slot, row in enumerate(new, start=len(self.rows)):
            self._wire(slot, row)
        if new:
            self.rows.extend(new)
            self._show_boxes()

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
        self._show_boxes()

    def _show_boxes(self) -> None:
        """The box holds the rows in use, top to bottom; set only when that changes (a short
        page, a bigger one), so a page change is a refill, never a re-render."""
        boxes = tuple(r.box for r in self.rows if not r.hidden)
        if boxes != tuple(self.box.children):
            self.box.children = boxes
