"""The review grid: a paged view over the pairs frame with ticks, filters and binding.

Why it is built this way (research notebook-ux.md §A.3, STYLE.md points 11–12):

- plain ipywidgets only, so it renders in JupyterLab 4, Notebook 7, VS Code, Colab and Voila
  with no extra front-end code;
- a fixed pool of row widgets (one ``Checkbox`` + one ``HTML`` each) is built once and refilled
  per page: creating widgets is what is expensive, updating them is cheap;
- the pairs frame is the only state: a tick writes ``pairs.selected``, a run writes the
  ``bind_*`` columns, and every redraw reads them back, keyed by ``pair_id``;
- which rows are visible is a cached array of positions recomputed only when a filter changes,
  so a page change costs O(page) even on a million pairs;
- every handler runs through one guard that refuses re-entry and shows errors in the widget
  instead of losing them in a log nobody reads.
"""

from __future__ import annotations

import functools
import html
import logging
import threading
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from b24nb.journal.verdicts import ensure_columns
from b24nb.redact import redact
from b24nb.widgets import _html
from b24nb.widgets._actions import Actions, last_run_line
from b24nb.widgets._explain import portal_base
from b24nb.widgets._layout import DEFAULT_THRESHOLD, POOL_SIZE, Row, guarded
from b24nb.widgets._review import ReviewControls, ReviewHandlers
from b24nb.widgets._runview import RunView
from b24nb.widgets._view import (
    DONE_STATUSES,
    SORTS,
    STATUS_FILTERS,
    Filters,
    OrderIndex,
    TextSearch,
    compute_view,
    histogram,
    selected_mask,
    status_counts,
)

__all__ = ["MatchPicker"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

class MatchPicker(ReviewHandlers, w.VBox):
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

    def __init__(self, pairs: pd.DataFrame, portal: Any = None, *, deals: Any = None,
                 journal: Any = None, page_size: int = 25, threshold: float = DEFAULT_THRESHOLD,
                 dry_run: bool = False, allow_rebind: bool = False,
                 export_path: str = "b24nb-log.csv", record_decisions: bool = True) -> None:
        missing = [c for c in ("deal_id", "order_id", "score") if c not in pairs.columns]
        if missing:
            raise ValueError(f"pairs lacks the column(s) {missing}; pass the frame from suggest()")
        if not pairs.index.is_unique:
            raise ValueError("pairs must be indexed by a unique pair_id")
        if "selected" not in pairs.columns:
            pairs["selected"] = pd.array(np.zeros(len(pairs), dtype=bool), dtype="boolean")
        ensure_columns(pairs)  # decision, decided_at
        super().__init__(layout=w.Layout(width="100%"))
        self.pairs = pairs
        self.portal = portal
        self._busy = False
        self._filling = False
        self._page = 0
        self._filters = Filters()
        self._index_frame()
        self._view = compute_view(pairs, self._filters, self._text_search)
        self._counts: dict[str, int] = {}
        #: held by every handler and by the background run while it writes the frame
        self.lock = threading.RLock()
        self.actions = Actions(lambda: self.pairs, siblings=lambda o: self._orders.siblings(o),
                               allow_rebind=lambda: bool(self.allow_rebind.value),
                               portal=portal, deals=deals, journal=journal, lock=self.lock)
        self.review = ReviewControls(self, export_path=export_path, record=record_decisions)
        self._base = portal_base(portal)
        self._build(page_size, threshold, dry_run, allow_rebind)
        self.run_view = RunView(self)
        self._wire()
        self._refresh_counts()
        self._redraw()
        if portal is not None:  # after a kernel restart: what became of the last run
            line = last_run_line(portal, journal)
            if line:
                self._say(html.escape(line))

    def _index_frame(self) -> None:
        """(Re)build what is derived from the whole frame once: search, sibling index, bins."""
        self._text_search = TextSearch(self.pairs)
        self._orders = OrderIndex(self.pairs)
        self._hist = histogram(self.pairs)
        self._shape = (len(self.pairs), self.pairs.index[0] if len(self.pairs) else None,
                       self.pairs.index[-1] if len(self.pairs) else None)

    # ---------------------------------------------------------------- building
    def _build(self, page_size: int, threshold: float, dry_run: bool,
               allow_rebind: bool) -> None:
        """Create every widget once; later only their values change."""
        self.summary = w.HTML()
        self.histogram = w.HTML()
        self.search = w.Text(placeholder="search deal, order, customer, reasons…",
                             continuous_update=False, layout=w.Layout(width="260px"))
        self.band = w.FloatRangeSlider(value=(0.0, 1.0), min=0.0, max=1.0, step=0.01,
                                       description="score", continuous_update=False,
                                       readout_format=".2f", layout=w.Layout(width="300px"))
        self.status_filter = w.Dropdown(options=STATUS_FILTERS, value="all",
                                        description="show", layout=w.Layout(width="200px"))
        self.sort = w.Dropdown(options=list(SORTS), value="score ↓", description="sort",
                               layout=w.Layout(width="180px"))
        self.page_size = w.Dropdown(options=[25, 50], value=50 if page_size > 25 else 25,
                                    description="rows", layout=w.Layout(width="130px"))
        self.threshold = w.FloatSlider(value=threshold, min=0.0, max=1.0, step=0.01,
                                       description="tick ≥", readout_format=".2f",
                                       continuous_update=False, layout=w.Layout(width="260px"))
        auto = w.Layout(width="auto")  # room for the whole label, never "Tick all ≥ thres…"
        self.tick_above_button = w.Button(description="Tick all ≥ threshold",
                                          icon="check-square", layout=auto)
        self.tick_page_button = w.Button(description="Tick page", icon="check", layout=auto)
        self.untick_page_button = w.Button(description="Untick page", icon="square-o",
                                           layout=auto)
        # rows for the first page only; a bigger page adds the rest when chosen (each row is
        # about a dozen widget models the browser must create before the grid shows)
        first = Row()
        self.rows = [first] + [Row(like=first)
                               for _ in range(min(self.page_size.value, POOL_SIZE) - 1)]
        self.pool = w.VBox([r.box for r in self.rows])
        self.prev_button = w.Button(description="Prev", icon="chevron-left",
                                    layout=w.Layout(width="80px"))
        self.next_button = w.Button(description="Next", icon="chevron-right",
                                    layout=w.Layout(width="80px"))
        self.page_label = w.Label()
        self.bind_button = w.Button(description="Bind selected (0)", button_style="primary",
                                    icon="link", layout=w.Layout(width="190px"))
        self.dry_run = w.Checkbox(value=dry_run, description="dry run", indent=False,
                                  layout=w.Layout(width="90px"))
        self.allow_rebind = w.Checkbox(value=allow_rebind, description="allow rebind",
                                       indent=False, layout=w.Layout(width="120px"))
        self.retry_button = w.Button(description="Retry failed (0)", icon="repeat", layout=auto)
        self.undo_button = w.Button(description="Undo last run", icon="undo", disabled=True,
                                    layout=auto)
        self.confirm_html = w.HTML()
        self.confirm_button = w.Button(description="Confirm", button_style="danger")
        self.cancel_button = w.Button(description="Cancel")
        self.confirm_box = w.VBox(
            [self.confirm_html, w.HBox([self.confirm_button, self.cancel_button])],
            layout=w.Layout(display="none"))
        self.progress = w.IntProgress(value=0, min=0, max=1, bar_style="info",
                                      layout=w.Layout(width="300px"))
        self.progress_label = w.Label()
        self.stop_button = w.Button(description="Stop", icon="stop", button_style="warning",
                                    tooltip="finish the batches in flight, send nothing more",
                                    layout=w.Layout(width="auto", display="none"))
        self.progress_box = w.HBox([self.progress, self.progress_label, self.stop_button],
                                   layout=w.Layout(display="none", align_items="center"))
        self.message = w.HTML()
        can_bind = self.portal is not None
        for button in (self.bind_button, self.retry_button):
            button.disabled = not can_bind
            button.tooltip = "" if can_bind else "pass portal= to bind from here"
        self.children = [
            w.HBox([self.summary, self.histogram],
                   layout=w.Layout(justify_content="space-between", align_items="flex-end")),
            w.HBox([self.search, self.band, self.status_filter, self.sort, self.page_size],
                   layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.threshold, self.review.include_rebinds, self.tick_above_button,
                    self.tick_page_button, self.untick_page_button,
                    self.review.untick_shown_button, self.review.untick_all_button],
                   layout=w.Layout(flex_flow="row wrap", align_items="center")),
            w.HBox([w.HTML(layout=w.Layout(width="28px", flex="0 0 28px")), self.review.header,
                    w.HTML("<b style='color:#444;font-size:12.5px'>decision</b>",
                           layout=w.Layout(width="105px", flex="0 0 105px"))]),
            self.pool,
            w.HBox([self.prev_button, self.page_label, self.next_button],
                   layout=w.Layout(align_items="center")),
            w.HBox([self.bind_button, self.dry_run, self.allow_rebind, self.retry_button,
                    self.undo_button], layout=w.Layout(flex_flow="row wrap",
                                                       align_items="center")),
            w.HBox([self.review.export_path, self.review.export_button],
                   layout=w.Layout(align_items="center")),
            self.confirm_box, self.progress_box, self.message,
        ]

    def _wire(self) -> None:
        """Connect every handler, all in one place."""
        for control in (self.search, self.band, self.status_filter, self.sort):
            control.observe(self._on_filter, names="value")
        self.page_size.observe(self._on_page_size, names="value")
        self.threshold.observe(self._on_threshold, names="value")
        self.allow_rebind.observe(self._on_allow_rebind, names="value")
        self.prev_button.on_click(self._on_prev)
        self.next_button.on_click(self._on_next)
        self.tick_page_button.on_click(self._on_tick_page)
        self.untick_page_button.on_click(self._on_untick_page)
        self.tick_above_button.on_click(self._on_tick_above)
        for slot, row in enumerate(self.rows):
            self._wire_row(slot, row)
        self.review.untick_all_button.on_click(self._on_untick_all)
        self.review.untick_shown_button.on_click(self._on_untick_shown)
        self.review.export_button.on_click(self._on_export)
        self.bind_button.on_click(self._on_bind)
        self.retry_button.on_click(self._on_retry)
        self.undo_button.on_click(self._on_undo)
        self.confirm_button.on_click(self._on_confirm)
        self.cancel_button.on_click(self._on_cancel)
        self.stop_button.on_click(self._on_stop)

    def _wire_row(self, slot: int, row: Row) -> None:
        row.checkbox.observe(functools.partial(self._on_tick, slot), names="value")
        row.decision.observe(functools.partial(self._on_decision, slot), names="value")

    def _grow_pool(self, size: int) -> None:
        """Rows up to ``size`` (a bigger page was chosen); rows are never taken away."""
        new = [Row(like=self.rows[0]) for _ in range(len(self.rows), min(size, POOL_SIZE))]
        for slot, row in enumerate(new, start=len(self.rows)):
            self._wire_row(slot, row)
        if new:
            self.rows.extend(new)
            self.pool.children = [r.box for r in self.rows]

    # ---------------------------------------------------------------- state helpers
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

    def _column_position(self, column: str) -> int:
        return int(self.pairs.columns.get_loc(column))

    def _done_mask(self, positions: np.ndarray) -> np.ndarray:
        if "bind_status" not in self.pairs.columns:
            return np.zeros(len(positions), dtype=bool)
        status = self.pairs["bind_status"].iloc[positions]
        return status.isin(sorted(DONE_STATUSES)).to_numpy(dtype=bool, na_value=False)

    def _blockers(self, positions: np.ndarray) -> list[Any]:
        """For each position, the pair id already holding its order (ticked or bound), or None.

        A pair that is itself ticked or bound holds its order and is never blocked.
        """
        orders = self.pairs["order_id"].iloc[positions].to_numpy(dtype="float64",
                                                                  na_value=np.nan)
        groups = self._orders.siblings(orders)
        flat = np.concatenate(groups) if groups else np.array([], dtype=np.intp)
        holds = (self.pairs["selected"].iloc[flat].to_numpy(dtype=bool, na_value=False)
                 | self._done_mask(flat))
        holding = dict(zip(flat.tolist(), holds.tolist(), strict=True))
        label = dict(zip(flat.tolist(), self.pairs.index.take(flat).tolist(), strict=True))
        result: list[Any] = []
        for pos, group in zip(positions.tolist(), groups, strict=True):
            if holding.get(pos):
                result.append(None)
                continue
            other = next((p for p in group.tolist() if p != pos and holding.get(p)), None)
            result.append(None if other is None else label[other])
        return result

    # ---------------------------------------------------------------- rendering
    def _frame_changed(self) -> bool:
        """Rows added or dropped under the grid since it last looked (an O(1) check)."""
        p = self.pairs
        return self._shape != (len(p), p.index[0] if len(p) else None,
                               p.index[-1] if len(p) else None)

    def _render_page(self) -> None:
        """Refill the pooled rows from the frame: O(page), whatever the frame size."""
        if self._frame_changed():  # cached positions would point at the wrong rows
            self._index_frame()
            self._view = compute_view(self.pairs, self._filters, self._text_search)
            self._page = min(self._page, self.n_pages - 1)
        positions = self.page_positions()
        columns = [c for c in _html.ROW_COLUMNS if c in self.pairs.columns]
        columns += [c for c in self.pairs.columns  # the breakdown's evidence, generically
                    if c.startswith(("ev_", "lvl_")) or c in ("prior", "match_prior",
                                                              "match_weight", "weight")]
        records = self.pairs.iloc[positions][columns].to_dict("records")
        ids = self.pairs.index[positions].tolist()
        blockers = self._blockers(positions)
        done = self._done_mask(positions)
        running = self.actions.running
        self._filling = True
        try:
            for slot, row in enumerate(self.rows):
                if slot >= len(records):
                    row.pair_id = None
                    row.box.layout.display = "none"
                    continue
                rec, pid = records[slot], ids[slot]
                row.pair_id = pid
                row.html.value = _html.row_html(rec, pair_id=pid, blocked_by=blockers[slot],
                                                base=self._base)
                row.checkbox.value = bool(rec.get("selected") is True)
                decision = rec.get("decision")
                rejected = decision == "reject"
                row.checkbox.disabled = bool(running or done[slot] or rejected
                                             or blockers[slot] is not None)
                row.decision.value = decision if isinstance(decision, str) else ""
                row.decision.disabled = bool(running)
                row.box.layout.display = None
            self.page_label.value = (
                f"page {self._page + 1:,}/{self.n_pages:,} · "
                f"rows {min(len(self._view), self._page * self.page_size.value + 1):,}–"
                f"{self._page * self.page_size.value + len(records):,} of {len(self._view):,}")
            self.prev_button.disabled = self._page == 0
            self.next_button.disabled = self._page >= self.n_pages - 1
        finally:
            self._filling = False

    def _redraw(self) -> None:
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

    def _refresh_counts(self) -> None:
        """Recount statuses (after a run or refresh; not on every tick)."""
        self._counts = status_counts(self.pairs)
        self._refresh_retry_label()
        self._render_summary()
        self.histogram.value = _html.histogram_html(self._hist, self.band.value,
                                                    self.threshold.value)

    def _refresh_retry_label(self) -> None:
        self.retry_button.description = f"Retry failed ({len(self.actions.to_retry()):,})"

    def _render_summary(self) -> None:
        self.summary.value = _html.summary_html(self._counts, len(self._view))

    def _show_error(self, exc: BaseException) -> None:
        logger.error("review widget: %s", redact(f"{type(exc).__name__}: {exc}"), exc_info=exc)
        text = html.escape(redact(f"{type(exc).__name__}: {exc}"))
        self.message.value = (f'<div class="b24nb-error" style="color:#c82333;'
                              f'white-space:pre-wrap">{text}</div>')

    def _say(self, text: str) -> None:
        self.message.value = f'<div class="b24nb-message">{text}</div>'

    def refresh(self) -> None:
        """Recompute the view and counts from the frame (after changing it outside the widget).

        Why it exists: the grid caches the visible row positions, the order index and the
        score histogram so a page change stays O(page); a ``bind()`` from a notebook cell or
        an edit of ``pairs`` changes what they were computed from.
        """
        self._index_frame()
        self._view = compute_view(self.pairs, self._filters, self._text_search)
        self._page = min(self._page, self.n_pages - 1)
        self._refresh_counts()
        self._redraw()

    # ---------------------------------------------------------------- handlers
    def _recompute_view(self) -> None:
        """Re-apply the filters to the frame (after a bulk action changed what they select)."""
        self._view = compute_view(self.pairs, self._filters, self._text_search)
        self._page = min(self._page, self.n_pages - 1)

    @guarded
    def _on_filter(self, _change: dict) -> None:
        self._filters = Filters(text=self.search.value, band=tuple(self.band.value),
                                status=self.status_filter.value, sort=self.sort.value)
        self._view = compute_view(self.pairs, self._filters, self._text_search)
        self._page = 0
        self._say("")
        self.histogram.value = _html.histogram_html(self._hist, self.band.value,
                                                    self.threshold.value)
        self._render_page()
        self._render_summary()

    @guarded
    def _on_page_size(self, change: dict) -> None:
        first = self._page * change["old"]
        self._page = first // change["new"]
        self._grow_pool(change["new"])
        self._render_page()

    @guarded
    def _on_threshold(self, _change: dict) -> None:
        self.histogram.value = _html.histogram_html(self._hist, self.band.value,
                                                    self.threshold.value)

    @guarded
    def _on_allow_rebind(self, _change: dict) -> None:
        self._refresh_retry_label()  # held-back rebinds become retryable

    @guarded
    def _on_prev(self, _button: w.Button) -> None:
        self.go_to_page(self._page - 1)

    @guarded
    def _on_next(self, _button: w.Button) -> None:
        self.go_to_page(self._page + 1)

    def go_to_page(self, page: int) -> None:
        """Show page ``page`` (0-based, clipped to the valid range)."""
        self._page = max(0, min(page, self.n_pages - 1))
        self._render_page()

    def _on_tick(self, slot: int, change: dict) -> None:
        if self._filling:  # the refill itself, not the analyst
            return
        if self._busy:  # a tick that cannot be taken now must not look taken
            self._filling = True
            try:
                self.rows[slot].checkbox.value = bool(change["old"])
            finally:
                self._filling = False
            return
        self._tick(slot, bool(change["new"]))

    @guarded
    def _tick(self, slot: int, value: bool) -> None:
        pid = self.rows[slot].pair_id
        if pid is None:
            return
        self.actions.set_selected(np.array([self.pairs.index.get_loc(pid)]), value)
        self._say("")  # an older message ("no pairs to send") no longer applies
        self._redraw()

    @guarded
    def _on_tick_page(self, _button: w.Button) -> None:
        positions = self.page_positions()
        free = [p for p, b in zip(positions.tolist(), self._blockers(positions), strict=True)
                if b is None]
        self.actions.set_selected(np.array(free, dtype=np.intp), True)
        self._redraw()

    @guarded
    def _on_untick_page(self, _button: w.Button) -> None:
        self.actions.set_selected(self.page_positions(), False)
        self._say("")
        self._recompute_view()
        self._redraw()

    @guarded
    def _on_tick_above(self, _button: w.Button) -> None:
        self._say(html.escape(self.review.tick_all()))
        self._recompute_view()
        self._redraw()

    @guarded
    def _on_bind(self, _button: w.Button) -> None:
        self.run_view.show_proposal(self.actions.propose("bind", dry_run=self.dry_run.value))

    @guarded
    def _on_retry(self, _button: w.Button) -> None:
        self.run_view.show_proposal(self.actions.propose("retry", dry_run=self.dry_run.value))

    @guarded
    def _on_undo(self, _button: w.Button) -> None:
        self.run_view.show_proposal(self.actions.propose("undo"))

    @guarded
    def _on_confirm(self, _button: w.Button) -> None:
        self.run_view.start()

    @guarded
    def _on_cancel(self, _button: w.Button) -> None:
        self.actions.cancel()
        self.confirm_box.layout.display = "none"
        self._say("cancelled: nothing was sent")

    @guarded
    def _on_stop(self, _button: w.Button) -> None:
        self.run_view.stop()

    # ---------------------------------------------------------------- text repr
    def __repr__(self) -> str:
        selected = int(selected_mask(self.pairs).sum())
        return (f"MatchPicker({len(self.pairs):,} pairs, {len(self._view):,} in view, "
                f"{selected:,} selected, page {self._page + 1:,}/{self.n_pages:,})")
