"""What the review grid's buttons do to the frame and the portal: the run controller.

Why apart from the widget layout: ticking rules (one ticked pair per order), the confirmation
step and the calls to :func:`b24nb.bind` / :func:`b24nb.unbind` are the part that can lose
or corrupt data, so they live in one small place that reads and writes only the frame and
returns data — a :class:`Proposal` to confirm, :class:`~b24nb.binding.control.Progress`
while a run goes, a :class:`RunResult` at its end — which the grid renders. It imports no
widget and nothing of the grid's.

Runs go on a background thread, so the kernel stays free for paging, filtering and reading
the log; every frame write of the run and every redraw hold one lock (``lock``), so the grid
never reads a batch half-written. Stop finishes the batches in flight and sends nothing more.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from b24nb.binding.control import Progress, RunControl
from b24nb.binding.pace import Estimate, estimate
from b24nb.widgets._view import DONE_STATUSES, selected_mask

__all__ = ["Actions", "Proposal", "RunResult", "last_run_line", "run_id_of"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: what to click to finish a run that stopped early, by kind of run
FINISH = {"bind": "click Bind selected to finish", "retry": "click Bind selected to finish",
          "undo": "click Undo last run to finish"}


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


@dataclass(frozen=True)
class Proposal:
    """A run waiting for Confirm: exactly which pairs, and what the confirmation says."""

    kind: str  # bind | retry | undo
    label: str
    pair_ids: list[Any] = field(default_factory=list)
    dry_run: bool = False
    rebinds: int = 0
    preview: list[str] = field(default_factory=list)
    eta: Estimate | None = None
    message: str | None = None  # set instead when there is nothing to send

    @property
    def empty(self) -> bool:
        return not self.pair_ids


@dataclass(frozen=True)
class RunResult:
    """How a run ended: its one-line summary, and the error if it raised."""

    kind: str
    run_id: Any
    line: str
    ok: bool
    stopped: bool = False
    dry_run: bool = False
    error: BaseException | None = None
    redraw_error: BaseException | None = None


class Actions:
    """Ticks, confirmation and background runs of one review grid (data in, data out).

    Parameters
    ----------
    pairs : callable
        Returns the pairs frame (the grid's, which may be replaced).
    siblings : callable
        ``siblings(order_ids)`` → arrays of the positions of each order's candidates.
    allow_rebind : callable
        Whether rebinds are allowed now (the grid's toggle).
    portal, deals, journal
        Passed through to :func:`b24nb.bind`.
    lock : threading.RLock
        The frame lock the grid's redraws hold too.
    """

    def __init__(self, pairs: Callable[[], pd.DataFrame], *, siblings: Callable[[Any], list],
                 allow_rebind: Callable[[], bool], portal: Any = None, deals: Any = None,
                 journal: Any = None, lock: Any = None) -> None:
        self._pairs = pairs
        self._siblings = siblings
        self._allow_rebind = allow_rebind
        self.portal = portal
        self.deals = deals
        self.journal = journal
        self.lock = lock if lock is not None else threading.RLock()
        #: batches in flight per run (None: bind()'s default)
        self.in_flight: int | None = None
        #: the proposed run waiting for Confirm
        self.pending: Proposal | None = None
        #: the last run that wrote bindings, and the pair ids it acted on: labels, not row
        #: positions, so that rows dropped or reordered since cannot shift what undo touches
        self.last_run_id: Any = None
        self.last_pair_ids: list[Any] = []
        self.undo_unfinished = False  # last_pair_ids are what an undo left to do
        self.last_summary: Any = None
        self.last_result: RunResult | None = None
        self.control: RunControl | None = None
        self._thread: threading.Thread | None = None
        self._active = False
        self._finished: set[Any] = set()
        self._sending: set[Any] = set()

    @property
    def pairs(self) -> pd.DataFrame:
        return self._pairs()

    @property
    def finished(self) -> int:
        """How many of the running (or last) run's pairs have their answer: the bar's value."""
        return len(self._finished)

    @property
    def running(self) -> bool:
        """A run is under way (its thread alive and not yet reporting its end)."""
        return self._active and self._thread is not None and self._thread.is_alive()

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
        if self._allow_rebind():
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
            siblings = self._siblings(orders[np.sort(first)])
            if siblings:
                self.pairs.iloc[np.concatenate(siblings), column] = False
        self.pairs.iloc[positions, column] = value

    # ------------------------------------------------------------------ confirmation
    def propose(self, kind: str, *, dry_run: bool = False) -> Proposal:
        """What a run would send, for the confirmation; nothing is sent here."""
        if kind == "bind":
            positions, label = self.to_bind(), "Bind"
        elif kind == "retry":
            positions, label = self.to_retry(), "Retry"
        elif kind == "undo":
            if self.last_run_id is None:
                return Proposal(kind, "Undo", message="nothing to undo: no run from this "
                                "widget yet")
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
            self.pending = None
            return Proposal(kind, label, message=f"{label}: no pairs to send")
        rows = self.pairs.iloc[positions[:5]]
        preview = [f"pair {pid}: deal {r.deal_id} ← order {r.order_id} (score {r.score:.2f})"
                   for pid, r in zip(rows.index, rows.itertuples(), strict=True)]
        if len(positions) > 5:
            preview.append(f"… and {len(positions) - 5:,} more")
        rebinds = 0
        if kind != "undo" and "rebind" in self.pairs.columns:
            rebinds = int(self.pairs["rebind"].iloc[positions].to_numpy(
                dtype=bool, na_value=False).sum())
        dry = dry_run and kind != "undo"
        eta = None if dry else self._estimate(len(positions))
        self.pending = Proposal(kind, label, self.pairs.index[positions].tolist(), dry,
                                rebinds, preview, eta)
        return self.pending

    def _estimate(self, n: int) -> Estimate:
        """How long ``n`` writes take under the portal's limits, from what it told us so far."""
        budget = getattr(getattr(self.portal, "limiter", None), "budget", None)
        if budget is None or not hasattr(budget, "snapshot"):
            return estimate(n)
        used, frees = budget.snapshot("crm.orderentity.add")
        return estimate(n, cost=budget.cost("crm.orderentity.add") or 0.3278,
                        limit=budget.limit, used=used, frees=frees,
                        **({"in_flight": self.in_flight} if self.in_flight else {}))

    def cancel(self) -> None:
        self.pending = None

    # ------------------------------------------------------------------ runs
    def start(self, *, on_progress: Callable[[Progress], None],
              on_rows: Callable[[list[Any]], None],
              on_done: Callable[[RunResult], None]) -> Proposal | None:
        """Send the confirmed run on a background thread; returns at once.

        ``on_rows(pair_ids)`` after each batch (the frame lock is held), ``on_progress`` with
        done/total, rate, ETA and any wait, ``on_done(RunResult)`` at the end — all on the
        run's thread.
        """
        if self.pending is None or self.running:
            return None
        proposal, self.pending = self.pending, None
        with self.lock:
            present = [p for p in proposal.pair_ids if p in self.pairs.index]
        self._finished = set()
        self._sending = set(present)
        self.control = RunControl(lock=self.lock, on_progress=on_progress)
        self._active = True
        self._thread = threading.Thread(
            target=self._run, args=(proposal, present, self.control, on_rows, on_done),
            name="b24nb-grid-run", daemon=True)
        self._thread.start()
        return proposal

    def stop(self) -> bool:
        """Stop the run after the batches in flight; False when none is running."""
        if not self.running or self.control is None:
            return False
        self.control.stop("stopped")
        limiter = getattr(self.portal, "limiter", None)
        if limiter is not None and hasattr(limiter, "wake"):
            limiter.wake()
        return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end and the grid to show it; True when it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _run(self, proposal: Proposal, ids: list[Any], control: RunControl,
             on_rows: Callable[[list[Any]], None],
             on_done: Callable[[RunResult], None]) -> None:
        redraw_error: list[BaseException] = []

        def rows(pair_ids: Iterable[Any]) -> None:
            ids_ = list(pair_ids)
            status = self.pairs["bind_status"].reindex(ids_)
            self._finished.update(  # rows of this run only: a settled orphan is not progress
                pid for pid, s in zip(ids_, status.tolist(), strict=True)
                if isinstance(s, str) and s != "pending" and pid in self._sending)
            try:
                on_rows(ids_)
            except Exception as exc:  # shown when the run ends; the run goes on
                if not redraw_error:
                    redraw_error.append(exc)
                raise

        kwargs: dict[str, Any] = {"journal": self.journal, "progress": False,
                                  "on_update": rows, "pair_ids": ids, "control": control}
        if self.in_flight:
            kwargs["in_flight"] = self.in_flight
        summary: Any = None
        error: BaseException | None = None
        try:
            if proposal.kind == "undo":
                from b24nb.binding import unbind

                summary = unbind(self.portal, self.pairs, run_id=self.last_run_id, **kwargs)
            else:
                from b24nb.binding import bind

                summary = bind(self.portal, self.pairs, deals=self.deals,
                               dry_run=proposal.dry_run, allow_rebind=self._allow_rebind(),
                               **kwargs)
        except Exception as exc:  # shown in the grid, not lost in a thread
            error = exc
            summary = getattr(exc, "b24nb_summary", None)
        run = run_id_of(summary) if summary is not None else None
        if run is None and error is not None:
            # a run stopped half-way (auth revoked) may have bound some rows: keep its id so
            # "Undo last run" can take them back
            run = getattr(error, "b24nb_run_id", None)
        with self.lock:
            result = self._after_run(proposal, ids, run, summary, control, error,
                                     redraw_error[0] if redraw_error else None)
            self._active = False
        self.last_summary = summary
        self.last_result = result
        try:
            on_done(result)
        except Exception:
            logger.exception("review widget: redraw after the run failed")

    def _after_run(self, proposal: Proposal, ids: list[Any], run: Any, summary: Any,
                   control: RunControl, error: BaseException | None,
                   redraw_error: BaseException | None) -> RunResult:
        """Undo target and the one-line summary after a run (also one that raised)."""
        from b24nb.binding.api import summary_line

        kind, dry_run = proposal.kind, proposal.dry_run
        ids = [p for p in ids if p in self.pairs.index]
        status = self.pairs["bind_status"].reindex(ids)
        if kind == "undo":
            # an undo that did not finish stays available, so the button retries it
            left = ~status.isin(["unbound", "skipped"]).to_numpy(dtype=bool, na_value=False)
            if control.stopping:
                left |= status.eq("skipped").to_numpy(dtype=bool, na_value=False)
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
        counts = {str(k): int(v) for k, v in status.value_counts().items()}
        stopped = control.reason if control.stopping else None
        if error is not None and stopped is None:
            stopped = f"stopped by {getattr(error, 'code', None) or type(error).__name__}"
        read_back = int(getattr(summary, "read_back", 0) or 0)
        what = "dry run" if dry_run else kind
        line = summary_line(kind, counts, stopped=stopped, read_back=read_back,
                            finish=FINISH.get(kind, "click Bind selected to finish"))
        if counts.get("dry_run"):
            line = f"{counts['dry_run']:,} would be sent; nothing was written"
        text = f"{what}{'' if run is None else f' (run {run})'} {line}"
        return RunResult(kind, run, text, error is None, stopped is not None, dry_run, error,
                         redraw_error)


def last_run_line(portal: Any, journal: Any = None) -> str | None:
    """One line on this portal's last run when it did not end normally (see summary)."""
    from b24nb.binding.summary import last_run_line as line

    return line(portal, journal, finish=FINISH)
