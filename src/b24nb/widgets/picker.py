"""The review grid: a paged view over the pairs frame with ticks, filters and binding.

Why it is built this way (research notebook-ux.md §A.3, STYLE.md points 11–12):

- plain ipywidgets only, so it renders in JupyterLab 4, Notebook 7, VS Code, Colab and Voila
  with no extra front-end code;
- a fixed pool of row widgets (:mod:`._rows`) is built once and refilled per page: creating
  widgets is what is expensive, updating them is cheap;
- the pairs frame is the only state: a tick writes ``pairs.selected``, a run writes the
  ``bind_*`` columns, and every redraw reads them back, keyed by ``pair_id``;
- which rows are visible is a cached array of positions recomputed only when a filter changes,
  so a page change costs O(page) even on a million pairs;
- every handler runs through one guard that refuses re-entry and shows errors in the widget
  instead of losing them in a log nobody reads.

The picker is built from parts that own one thing each: the bars of controls
(:mod:`._toolbars`), the row pool (:mod:`._rows`), what is visible (:mod:`._view`), the review
controls (:mod:`._review`), the run controller (:mod:`._actions`) and its view
(:mod:`._runview`). The parts reach the picker only through the public members the
:mod:`._grid` protocols list; the picker lays them out and wires every handler in one place.
"""

from __future__ import annotations

import functools
import html
import logging
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from b24nb.journal.verdicts import ensure_columns
from b24nb.redact import redact
from b24nb.widgets import _html
from b24nb.widgets._actions import Actions, last_run_line
from b24nb.widgets._explain import portal_base
from b24nb.widgets._guard import guarded
from b24nb.widgets._looks import Looks
from b24nb.widgets._options import DEFAULT_THRESHOLD, ReviewOptions
from b24nb.widgets._review import ReviewControls
from b24nb.widgets._rows import MENU_CSS, TICK_CSS, Row, RowPool
from b24nb.widgets._runview import RunView
from b24nb.widgets._toolbars import confirm_bar, filter_bar, pager, progress_bar, run_bar, tick_bar
from b24nb.widgets._view import (
    Filters,
    FrameIndex,
    blockers,
    compute_view,
    done_mask,
    selected_mask,
    status_counts,
)

__all__ = ["MatchPicker"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: the frame's columns a row shows: the row's own, plus the breakdown's evidence (generically)
_BREAKDOWN = ("prior", "match_prior", "match_weight", "weight")


def _prepare(pairs: pd.DataFrame) -> None:
    """Refuse a frame that is not suggest()'s; add ``selected`` and the decision columns."""
    missing = [c for c in ("deal_id", "order_id", "score") if c not in pairs.columns]
    if missing:
        raise ValueError(f"pairs lacks the column(s) {missing}; pass the frame from suggest()")
    if not pairs.index.is_unique:
        raise ValueError("pairs must be indexed by a unique pair_id")
    if "selected" not in pairs.columns:
        pairs["selected"] = pd.array(np.zeros(len(pairs), dtype=bool), dtype="boolean")
    ensure_columns(pairs)  # decision, decided_at


class MatchPicker(w.VBox):
    """Review suggested deal↔order pairs, tick the ones to bind, bind them, undo them.

    Parameters
    ----------
    pairs
        The frame from :func:`b24nb.suggest` (docs/contracts.md §Frames). It is modified in
        place: ticks go to ``selected``, runs write the ``bind_*`` columns.
    portal
        The :class:`b24nb.Portal` to bind on; without one the grid is review-only.
    deals, journal
        Passed through to :func:`b24nb.bind`.
    page_size
        25 or 50 rows per page.
    threshold
        Initial value of the "tick all ≥" slider.
    dry_run, allow_rebind
        Initial state of the two toggles next to the Bind button.
    export_path
        Where the *Export* button writes first (``.csv``, or ``.xlsx`` with openpyxl).
    record_decisions
        Keep each accept/unsure/reject in the journal's ``decisions`` table too, so that
        ``b24nb.decisions()`` returns them after a kernel restart.

    Examples
    --------
    >>> picker = b24nb.MatchPicker(pairs, portal=portal)   # doctest: +SKIP
    >>> picker                                             # doctest: +SKIP
    """

    def __init__(  # noqa: PLR0913 - public class; review()'s keyword options
            self, pairs: pd.DataFrame, portal: Any = None, *, deals: Any = None,
            journal: Any = None, page_size: int = 25, threshold: float = DEFAULT_THRESHOLD,
            dry_run: bool = False, allow_rebind: bool = False,
            export_path: str = "b24nb-log.csv", record_decisions: bool = True) -> None:
        options = ReviewOptions(deals=deals, journal=journal, page_size=page_size,
                                threshold=threshold, dry_run=dry_run, allow_rebind=allow_rebind,
                                export_path=export_path, record_decisions=record_decisions)
        _prepare(pairs)  # refused before any widget exists
        super().__init__(layout=w.Layout(width="100%"))
        self.pairs = pairs
        self.portal = portal
        self._busy = False
        self._page = 0
        self._filters = Filters()
        self._index = FrameIndex(pairs)
        self._view = compute_view(pairs, self._filters, self._index.search)
        self._counts: dict[str, int] = {}
        #: held by every handler and by the background run while it writes the frame
        self.lock = threading.RLock()
        self.actions = Actions(lambda: self.pairs,
                               siblings=lambda o: self._index.orders.siblings(o),
                               allow_rebind=lambda: bool(self.allow_rebind.value),
                               portal=portal, deals=options.deals, journal=options.journal,
                               lock=self.lock)
        self.looks = Looks()  # the grid's shared layouts and styles (one model per look)
        self.review = ReviewControls(self, self.looks, export_path=options.export_path,
                                     record=options.record_decisions)
        self._base = portal_base(portal)
        self._build(options)
        self.run_view = RunView(self)
        self._wire()
        self.refresh_counts()
        self.redraw()
        if portal is not None:  # after a kernel restart: what became of the last run
            line = last_run_line(portal, options.journal)
            if line:
                self.say(html.escape(line))

    # ---------------------------------------------------------------- building
    def _build(self, options: ReviewOptions) -> None:
        """Create every widget once; later only their values change."""
        looks = self.looks
        self.summary, self.histogram = looks.make(w.HTML), looks.make(w.HTML)
        (self.search, self.band, self.status_filter, self.sort,
         self.page_size) = filter_bar(options.page_size, looks)
        (self.threshold, self.tick_above_button, self.tick_page_button,
         self.untick_page_button) = tick_bar(options.threshold, looks)
        self.pool = RowPool(self.page_size.value, looks, on_tick=self._tick,
                            on_decision=self._decide, busy=lambda: self._busy)
        self.prev_button, self.next_button, self.page_label = pager(looks)
        (self.bind_button, self.dry_run, self.allow_rebind, self.retry_button,
         self.undo_button) = run_bar(options, looks, can_bind=self.portal is not None)
        self.confirm_html, self.confirm_button, self.cancel_button, self.confirm_box = (
            confirm_bar(looks))
        self.progress, self.progress_label, self.stop_button, self.progress_box = (
            progress_bar(looks))
        self.message = looks.make(w.HTML)
        self.children = self._laid_out()

    def _laid_out(self) -> list[w.Widget]:
        """The grid top to bottom: summary, filters, ticks, header, rows, pager, run, log."""
        wrap = {"flex_flow": "row wrap", "align_items": "center"}
        review, box = self.review, functools.partial(self.looks.make, w.HBox)
        return [
            box([self.summary, self.histogram],
                layout={"justify_content": "space-between", "align_items": "flex-end"}),
            box([self.search, self.band, self.status_filter, self.sort, self.page_size],
                layout={"flex_flow": "row wrap"}),
            box([self.threshold, review.include_rebinds, self.tick_above_button,
                 self.tick_page_button, self.untick_page_button,
                 review.untick_shown_button, review.untick_all_button], layout=wrap),
            box([self.looks.make(w.HTML, layout=TICK_CSS), review.header,
                 self.looks.make(w.HTML, "<b style='color:#444;font-size:12.5px'>decision</b>",
                                 layout=MENU_CSS)]),
            self.pool.box,
            box([self.prev_button, self.page_label, self.next_button],
                layout={"align_items": "center"}),
            box([self.bind_button, self.dry_run, self.allow_rebind, self.retry_button,
                 self.undo_button], layout=wrap),
            box([review.export_path, review.export_button], layout={"align_items": "center"}),
            self.confirm_box, self.progress_box, self.message,
        ]

    def _wire(self) -> None:
        """Connect every handler, all in one place (the rows' own: :class:`RowPool`)."""
        for control in (self.search, self.band, self.status_filter, self.sort):
            control.observe(self._on_filter, names="value")
        self.page_size.observe(self._on_page_size, names="value")
        self.threshold.observe(self._on_threshold, names="value")
        self.allow_rebind.observe(self._on_allow_rebind, names="value")
        clicks: list[tuple[w.Button, Callable[..., None], tuple[Any, ...]]] = [
            (self.prev_button, self._step, (-1,)),
            (self.next_button, self._step, (1,)),
            (self.tick_page_button, self.review.on_tick_page, ()),
            (self.untick_page_button, self.review.on_untick_page, ()),
            (self.tick_above_button, self.review.on_tick_all, ()),
            (self.review.untick_all_button, self.review.on_untick_all, ()),
            (self.review.untick_shown_button, self.review.on_untick_shown, ()),
            (self.review.export_button, self.review.on_export, ()),
            (self.bind_button, self.run_view.propose, ("bind",)),
            (self.retry_button, self.run_view.propose, ("retry",)),
            (self.undo_button, self.run_view.propose, ("undo",)),
            (self.confirm_button, self.run_view.start, ()),
            (self.cancel_button, self.run_view.cancel, ()),
            (self.stop_button, self.run_view.stop, ()),
        ]
        for button, action, args in clicks:
            button.on_click(lambda _button, action=action, args=args: self.handle(action, *args))

    @guarded
    def handle(self, action: Callable[..., None], *args: Any) -> None:
        """Run ``action(*args)`` as one of the grid's handlers: once at a time, errors shown."""
        action(*args)

    # ---------------------------------------------------------------- state
    @property
    def rows(self) -> list[Row]:
        """The pooled rows, top to bottom (those past a short page are hidden)."""
        return self.pool.rows

    @property
    def view(self) -> np.ndarray:
        """Row positions the filters show now, in display order."""
        return self._view

    @property
    def n_pages(self) -> int:
        return max(1, -(-len(self._view) // self.page_size.value))

    def page_positions(self) -> np.ndarray:
        """Row positions of the current page, in display order."""
        size = self.page_size.value
        return self._view[self._page * size:(self._page + 1) * size]

    def page_pair_ids(self) -> list[Any]:
        """The ``pair_id`` of every row on the current page, top to bottom."""
        return self.pairs.index[self.page_positions()].tolist()

    def blocked_by(self, positions: np.ndarray) -> list[Any]:
        """For each position, the pair id already holding its order (ticked or bound), or None."""
        return blockers(self.pairs, self._index.orders, positions)

    def recompute_view(self) -> None:
        """Re-apply the filters to the frame (after a bulk action changed what they select)."""
        self._view = compute_view(self.pairs, self._filters, self._index.search)
        self._page = min(self._page, self.n_pages - 1)

    def refresh(self) -> None:
        """Recompute the view and counts from the frame (after changing it outside the widget).

        Why it exists: the grid caches the visible row positions, the order index and the
        score histogram so a page change stays O(page); a ``bind()`` from a notebook cell or
        an edit of ``pairs`` changes what they were computed from.
        """
        self._index = FrameIndex(self.pairs)
        self.recompute_view()
        self.refresh_counts()
        self.redraw()

    # ---------------------------------------------------------------- rendering
    def _render_page(self) -> None:
        """Refill the pooled rows from the frame: O(page), whatever the frame size."""
        if self._index.stale(self.pairs):  # cached positions would point at the wrong rows
            self._index = FrameIndex(self.pairs)
            self.recompute_view()
        positions = self.page_positions()
        columns = [c for c in _html.ROW_COLUMNS if c in self.pairs.columns]
        columns += [c for c in self.pairs.columns
                    if c.startswith(("ev_", "lvl_")) or c in _BREAKDOWN]
        records = self.pairs.iloc[positions][columns].to_dict("records")
        ids = self.pairs.index[positions].tolist()
        blocked = self.blocked_by(positions)
        done = done_mask(self.pairs, positions)
        cells = [_html.row_html(rec, pair_id=pid, blocked_by=by, base=self._base)
                 for rec, pid, by in zip(records, ids, blocked, strict=True)]
        held = [bool(d) or by is not None for d, by in zip(done, blocked, strict=True)]
        self.pool.fill(ids, records, cells, held, running=self.actions.running)
        size, shown = self.page_size.value, len(self._view)
        self.page_label.value = (
            f"page {self._page + 1:,}/{self.n_pages:,} · "
            f"rows {min(shown, self._page * size + 1):,}–"
            f"{self._page * size + len(records):,} of {shown:,}")
        self.prev_button.disabled = self._page == 0
        self.next_button.disabled = self._page >= self.n_pages - 1

    def render_page(self) -> None:
        """Refill the page's rows: the parts' way in to :meth:`_render_page` (O(page))."""
        self._render_page()

    def redraw(self) -> None:
        """Redraw the page and the counts that depend on ticks (after the selection changed)."""
        self._render_page()
        self._refresh_bind_label()

    def _refresh_bind_label(self) -> None:
        n = len(self.actions.to_bind())
        self.bind_button.description = f"Bind selected ({n:,})"
        if self.portal is not None:  # nothing ticked: nothing to confirm
            self.bind_button.disabled = n == 0 or self.actions.running
        self._counts["selected"] = int(selected_mask(self.pairs).sum())
        self._render_summary()

    def refresh_counts(self) -> None:
        """Recount statuses (after a run or refresh; not on every tick)."""
        self._counts = status_counts(self.pairs)
        self._refresh_retry_label()
        self._render_summary()
        self._render_histogram()

    def _refresh_retry_label(self) -> None:
        self.retry_button.description = f"Retry failed ({len(self.actions.to_retry()):,})"

    def _render_summary(self) -> None:
        self.summary.value = _html.summary_html(self._counts, len(self._view))

    def _render_histogram(self) -> None:
        self.histogram.value = _html.histogram_html(self._index.hist, self.band.value,
                                                    self.threshold.value)

    def show_error(self, exc: BaseException) -> None:
        """Show an error under the grid (redacted) and log it."""
        logger.error("review widget: %s", redact(f"{type(exc).__name__}: {exc}"), exc_info=exc)
        self.message.value = _html.error_html(exc)

    def say(self, text: str) -> None:
        """Show one line (HTML, already escaped) under the grid; ``""`` clears it."""
        self.message.value = _html.message_html(text)

    # ---------------------------------------------------------------- handlers
    @guarded
    def _on_filter(self, _change: dict) -> None:
        self._filters = Filters(text=self.search.value, band=tuple(self.band.value),
                                status=self.status_filter.value, sort=self.sort.value)
        self._view = compute_view(self.pairs, self._filters, self._index.search)
        self._page = 0
        self.say("")
        self._render_histogram()
        self._render_page()
        self._render_summary()

    @guarded
    def _on_page_size(self, change: dict) -> None:
        first = self._page * change["old"]
        self._page = first // change["new"]
        self.pool.grow(change["new"])
        self._render_page()

    @guarded
    def _on_threshold(self, _change: dict) -> None:
        self._render_histogram()

    @guarded
    def _on_allow_rebind(self, _change: dict) -> None:
        self._refresh_retry_label()  # held-back rebinds become retryable

    def go_to_page(self, page: int) -> None:
        """Show page ``page`` (0-based, clipped to the valid range)."""
        self._page = max(0, min(page, self.n_pages - 1))
        self._render_page()

    def _step(self, step: int) -> None:  # Prev (-1), Next (1)
        self.go_to_page(self._page + step)

    @guarded
    def _tick(self, slot: int, value: Any) -> None:
        pid = self.rows[slot].pair_id
        if pid is None:
            return
        self.actions.set_selected(np.array([self.pairs.index.get_loc(pid)]), bool(value))
        self.say("")  # an older message ("no pairs to send") no longer applies
        self.redraw()

    @guarded
    def _decide(self, slot: int, value: Any) -> None:
        pid = self.rows[slot].pair_id
        if pid is not None:
            self.review.on_decision(pid, value or None)

    # ---------------------------------------------------------------- text repr
    def __repr__(self) -> str:
        selected = int(selected_mask(self.pairs).sum())
        return (f"MatchPicker({len(self.pairs):,} pairs, {len(self._view):,} in view, "
                f"{selected:,} selected, page {self._page + 1:,}/{self.n_pages:,})")
