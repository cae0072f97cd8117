"""What the review grid's buttons do to the frame and the portal.

Why apart from the widget layout: ticking rules (one ticked pair per order), the confirmation
step and the calls to :func:`b24nb.bind` / :func:`b24nb.unbind` are the part that can lose
or corrupt data, so they live in one small place that reads and writes only the frame.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from b24nb.widgets import _html
from b24nb.widgets._view import DONE_STATUSES, selected_mask

if TYPE_CHECKING:
    from b24nb.widgets.picker import MatchPicker

__all__ = ["Actions", "run_id_of"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())


def run_id_of(summary: Any) -> Any:
    """The run id in whatever :func:`b24nb.bind` returned (a mapping or an object)."""
    if summary is None:
        return None
    if isinstance(summary, dict) or hasattr(summary, "get"):
        try:
            return summary.get("run_id")
        except TypeError:
            pass
    return getattr(summary, "run_id", None)


class Actions:
    """Ticks, confirmation and runs of one :class:`MatchPicker`."""

    def __init__(self, picker: MatchPicker, *, deals: Any = None, journal: Any = None) -> None:
        self.picker = picker
        self.deals = deals
        self.journal = journal
        self.running = False
        #: the proposed run waiting for Confirm: its kind and the pair ids it showed
        self.pending: tuple[str, list[Any]] | None = None
        #: the last run that wrote bindings, and the pair ids it acted on: labels, not row
        #: positions, so that rows dropped or reordered since cannot shift what undo touches
        self.last_run_id: Any = None
        self.last_pair_ids: list[Any] = []
        self.undo_unfinished = False  # last_pair_ids are what an undo left to do
        self.last_summary: Any = None
        #: an error raised while the grid redrew during a run (shown when the run ends)
        self.update_error: BaseException | None = None
        self._finished: set[Any] = set()
        self._sending: set[Any] = set()

    @property
    def pairs(self) -> pd.DataFrame:
        return self.picker.pairs

    # ------------------------------------------------------------------ masks
    def _status_is(self, statuses: Iterable[str]) -> np.ndarray:
        if "bind_status" not in self.pairs.columns:
            return np.zeros(len(self.pairs), dtype=bool)
        return self.pairs["bind_status"].isin(sorted(statuses)).to_numpy(
            dtype=bool, na_value=False)

    def to_bind(self) -> np.ndarray:
        """Positions ticked and not bound yet: what "Bind selected" sends."""
        positions = np.flatnonzero(selected_mask(self.pairs))
        if len(positions) == 0 or "bind_status" not in self.pairs.columns:
            return positions
        status = self.pairs["bind_status"].iloc[positions]
        done = status.isin(sorted(DONE_STATUSES)).to_numpy(dtype=bool, na_value=False)
        return positions[~done]

    def to_retry(self) -> np.ndarray:
        """Rows a bind left unfinished: failed, or sent without an answer (``pending``, which
        a rerun settles from the journal), plus ``needs_rebind`` once rebind is allowed.

        Rows of the last undo are left out: "Undo last run" retries those (a retry binds).
        """
        wanted = {"failed", "pending"}
        if self.picker.allow_rebind.value:
            wanted.add("needs_rebind")
        positions = np.flatnonzero(self._status_is(wanted))
        if self.undo_unfinished and self.last_run_id is not None:
            positions = np.setdiff1d(positions, self.undo_positions())
        return positions

    def undo_positions(self) -> np.ndarray:
        """Where the last run's pairs are now (rows dropped from the frame since are gone)."""
        if not self.last_pair_ids:
            return np.array([], dtype=np.intp)
        where = self.pairs.index.get_indexer(self.last_pair_ids)
        return where[where >= 0].astype(np.intp)

    # ------------------------------------------------------------------ ticks
    def set_selected(self, positions: np.ndarray, value: bool) -> None:
        """Tick or untick rows; ticking one pair unticks the other candidates of its order."""
        positions = np.asarray(positions, dtype=np.intp)
        if len(positions) == 0:
            return
        column = int(self.pairs.columns.get_loc("selected"))
        if value:
            orders = self.pairs["order_id"].iloc[positions].to_numpy(dtype="float64",
                                                                     na_value=np.nan)
            _, first = np.unique(orders, return_index=True)  # one pair per order, first shown
            positions = positions[np.sort(first)]
            siblings = self.picker._orders.siblings(orders[np.sort(first)])
            if siblings:
                self.pairs.iloc[np.concatenate(siblings), column] = False
        self.pairs.iloc[positions, column] = value

    def tick_above(self, view: np.ndarray, threshold: float) -> int:
        """Tick the best pair of each order in ``view`` scoring ≥ ``threshold``.

        Orders that already have a ticked or bound pair are left alone, so the button never
        overrides a decision the analyst made by hand.
        """
        score = self.pairs["score"].to_numpy(dtype=float, na_value=np.nan)[view]
        candidates = view[score >= threshold]
        if len(candidates) == 0:
            return 0
        order_all = self.pairs["order_id"].to_numpy(dtype="float64", na_value=np.nan)
        taken = selected_mask(self.pairs) | self._status_is(DONE_STATUSES)
        candidates = candidates[~np.isin(order_all[candidates], order_all[taken])]
        cand_score = self.pairs["score"].to_numpy(dtype=float)[candidates]
        candidates = candidates[np.lexsort((candidates, -cand_score))]  # best first, stable
        _, first = np.unique(order_all[candidates], return_index=True)
        chosen = np.sort(candidates[first])
        self.set_selected(chosen, True)
        return len(chosen)

    # ------------------------------------------------------------------ confirmation
    def propose(self, kind: str) -> None:
        """Show what a run would send and wait for Confirm; nothing is sent here."""
        picker = self.picker
        if kind == "bind":
            positions, label = self.to_bind(), "Bind"
        elif kind == "retry":
            positions, label = self.to_retry(), "Retry"
        elif kind == "undo":
            if self.last_run_id is None:
                picker._say("nothing to undo: no run from this widget yet")
                return
            last = self.undo_positions()
            # already_bound was not ours to undo; failed/pending rows of an earlier undo are
            # sent again (unbind() skips whatever the journal says was not made by that run)
            made = self.pairs["bind_status"].iloc[last].isin(
                ["bound", "rebound", "failed", "pending"]).to_numpy(dtype=bool, na_value=False)
            positions = last[made]
            label = f"Undo run {self.last_run_id}"
        else:
            raise ValueError(f"unknown action {kind!r}")
        if len(positions) == 0:
            picker._say(f"{label}: no pairs to send")
            return
        rows = self.pairs.iloc[positions[:5]]
        preview = [f"pair {pid}: deal {r.deal_id} ← order {r.order_id} (score {r.score:.2f})"
                   for pid, r in zip(rows.index, rows.itertuples(), strict=True)]
        if len(positions) > 5:
            preview.append(f"… and {len(positions) - 5:,} more")
        rebinds = 0
        if kind != "undo" and "rebind" in self.pairs.columns:
            rebinds = int(self.pairs["rebind"].iloc[positions].to_numpy(
                dtype=bool, na_value=False).sum())
        self.pending = (kind, self.pairs.index[positions].tolist())
        picker.confirm_html.value = _html.confirm_html(
            label, len(positions), dry_run=picker.dry_run.value and kind != "undo",
            rebinds=rebinds, allow_rebind=picker.allow_rebind.value,
            portal=repr(picker.portal), preview=preview)
        picker.confirm_box.layout.display = None
        picker._say("")

    def cancel(self) -> None:
        self.pending = None
        self.picker.confirm_box.layout.display = "none"

    # ------------------------------------------------------------------ runs
    def run_pending(self) -> None:
        """Send the confirmed run; progress and statuses update live through on_update."""
        if self.pending is None:
            return
        kind, ids = self.pending
        where = self.pairs.index.get_indexer(ids)  # exactly the rows the confirmation showed
        positions = where[where >= 0].astype(np.intp)
        self.cancel()
        picker = self.picker
        dry_run = bool(picker.dry_run.value) and kind != "undo"
        self._finished = set()
        self._sending = set(self.pairs.index[positions].tolist())
        self.update_error = None
        picker.progress.max = max(1, len(positions))
        picker.progress.value = 0
        picker.progress.bar_style = "info"
        picker.progress_label.value = f"0/{len(positions):,}"
        picker.progress_box.layout.display = None
        self.running = True
        summary: Any = None
        run: Any = None
        try:
            if kind == "undo":
                from b24nb.binding import unbind

                summary = self._scoped(unbind, positions, run_id=self.last_run_id)
            else:
                from b24nb.binding import bind

                summary = self._scoped(bind, positions, deals=self.deals, dry_run=dry_run,
                                       allow_rebind=bool(picker.allow_rebind.value))
            run = run_id_of(summary)
        except BaseException as exc:
            # a run stopped half-way (auth revoked, interrupt) may have bound some rows: keep
            # its id so "Undo last run" can take them back
            run = getattr(exc, "b24nb_run_id", None)
            self._after_run(kind, positions, run, dry_run, ok=False)
            raise
        finally:
            self.running = False
        self.last_summary = summary
        text = self._after_run(kind, positions, run, dry_run, ok=True)
        if self.update_error is not None:
            error, self.update_error = self.update_error, None
            raise RuntimeError(f"{text}; but the grid failed to redraw during the run (the "
                               f"run went on, the frame holds every status): {error}") from error

    def _after_run(self, kind: str, positions: np.ndarray, run: Any, dry_run: bool, *,
                   ok: bool) -> str:
        """Bar, undo target and summary line after a run (also after one that raised)."""
        picker = self.picker
        picker.progress.bar_style = "success" if ok else "danger"
        status = self.pairs["bind_status"].iloc[positions]
        if ok:
            picker.progress.value = picker.progress.max
            picker.progress_label.value = f"{len(positions):,}/{len(positions):,} done"
        ids = self.pairs.index[positions].tolist()
        if kind == "undo":
            # an undo that did not finish stays available, so the button retries it
            left = ~status.isin(["unbound", "skipped"]).to_numpy(dtype=bool, na_value=False)
            self.last_pair_ids = [pid for pid, keep in zip(ids, left, strict=True) if keep]
            self.undo_unfinished = bool(self.last_pair_ids)
            if not self.last_pair_ids:
                self.last_run_id = None
        elif not dry_run and run is not None and status.isin(["bound", "rebound"]).any():
            # undo means the last run that wrote bindings: the rows it made, and those sent
            # without an answer (they may have landed); never its failures, which an undo
            # would overwrite with "skipped"
            made = status.isin(["bound", "rebound", "pending"]).to_numpy(dtype=bool,
                                                                          na_value=False)
            self.last_run_id, self.undo_unfinished = run, False
            self.last_pair_ids = [pid for pid, keep in zip(ids, made, strict=True) if keep]
        picker.undo_button.disabled = self.last_run_id is None
        counts = " · ".join(f"{s} {n:,}" for s, n in status.fillna("not sent").value_counts()
                            .items())
        text = (f"{'dry run' if dry_run else kind}{'' if run is None else f' (run {run})'}: "
                f"{counts}")
        if ok:
            picker._say(html.escape(text))
        return text

    def _scoped(self, verb: Any, positions: np.ndarray, **kwargs: Any) -> Any:
        """Call ``bind``/``unbind`` so that exactly the rows at ``positions`` are acted on.

        Both verbs act on the rows whose ``selected`` is true; for the duration of the call
        the column is narrowed to ``positions`` and then restored, so a retry sends only the
        failed rows, "Bind selected" never resends rows already bound, and an undo touches
        only the last run's rows.
        """
        column = self.pairs["selected"].copy()
        narrowed = np.zeros(len(self.pairs), dtype=bool)
        narrowed[positions] = True
        self.pairs["selected"] = pd.array(narrowed, dtype="boolean")
        try:
            return verb(self.picker.portal, self.pairs, journal=self.journal, progress=False,
                        on_update=self.on_update, **kwargs)
        finally:
            self.pairs["selected"] = column

    def on_update(self, pair_ids: Iterable[Any]) -> None:
        """bind()/unbind() call this after each batch: advance the bar, redraw the page.

        The bar counts rows with a final answer: the first call names every planned row, most
        of them still ``pending``, and must not fill the bar before anything was sent. An
        error here is kept and shown when the run ends (bind() only logs it, so that a
        broken display never stops a run half-way).
        """
        picker = self.picker
        try:
            ids = list(pair_ids)
            status = self.pairs["bind_status"].reindex(ids)
            self._finished.update(  # rows of this run only: a settled orphan is not progress
                pid for pid, s in zip(ids, status.tolist(), strict=True)
                if isinstance(s, str) and s != "pending" and pid in self._sending)
            done = min(len(self._finished), picker.progress.max)
            picker.progress.value = done
            picker.progress_label.value = f"{done:,}/{picker.progress.max:,}"
            picker._render_page()
        except Exception as exc:
            if self.update_error is None:
                self.update_error = exc
            raise
