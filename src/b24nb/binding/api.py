"""``bind()`` and ``unbind()``: the steps that write to a customer's CRM.

Each call runs the same five steps: validate the frame (nothing is sent for a bad one), read
the current owner of every selected order (a few batched ``crm.orderentity.list`` pages),
fold the journal, plan row by row (:mod:`b24nb.binding.plan`), and send the writes in batches of
50 (:mod:`b24nb.binding.sender`), writing every answer into the frame and the journal.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from b24nb.binding.control import LockedLog, RunControl
from b24nb.binding.frame import FrameLog, Outcome, fmt
from b24nb.binding.identity import portal_identity
from b24nb.binding.owners import read_owners
from b24nb.binding.pace import IN_FLIGHT
from b24nb.binding.plan import Plan, note_row, plan_bind, plan_unbind, settle_orphans
from b24nb.binding.sender import Sender, notify
from b24nb.binding.summary import (
    RunSummary,
    code_of,
    estimate_run,
    journal_end,
    make_summary,
    requests_of,
    selection,
    summary_line,
)
from b24nb.binding.validate import Item, selected_items
from b24nb.journal import WRITE_KEYS, Journal, open_journal
from b24nb.journal.claims import Claims, describe

__all__ = ["RunSummary", "bind", "portal_identity", "summary_line", "unbind"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

class _Bar:
    """A tqdm bar that also shows the client's waits on limits (through its listener)."""

    def __init__(self, portal: Any, total: int, desc: str, progress: bool) -> None:
        self.bar = tqdm(total=total, desc=desc, unit="pair", disable=not progress, leave=True)
        self._limiter = getattr(portal, "limiter", None)
        if self._limiter is not None and hasattr(self._limiter, "add_listener"):
            self._limiter.add_listener(self._on_wait)

    def _on_wait(self, seconds: float, reason: str) -> None:
        self.bar.set_postfix_str(f"waiting {seconds:.0f}s: {reason}", refresh=True)

    def close(self) -> None:
        if self._limiter is not None and hasattr(self._limiter, "remove_listener"):
            self._limiter.remove_listener(self._on_wait)
        self.bar.close()


def _settle_rows(
    settled: list[tuple[Mapping[str, Any], Outcome | None]],
) -> list[dict[str, Any]]:
    """Journal rows for read-back settlements: ``(send row, outcome or None)``.

    A settlement without a final status (the write did not land) is journaled with status
    None, the journal's way of saying "surely did not run".
    """
    rows = []
    for send, out in settled:
        landed = out is not None and out.status != "skipped"
        rows.append(
            {
                **{k: send[k] for k in WRITE_KEYS},
                "send_id": send["id"],
                "status": out.status if landed else None,  # type: ignore[union-attr]
                "message": out.message if out else "read back: not applied",
            }
        )
    return rows


def _apply_plan(plan: Plan, journal: Journal, key: str, run_id: str | None) -> None:
    """Journal the settlements and notes of a plan (not for a dry run)."""
    if run_id is None:
        return
    if plan.settle:
        journal.record_answers(key, run_id, _settle_rows(plan.settle), event="settle")
    if plan.notes:
        journal.note(key, run_id, plan.notes)


def _orphans(journal: Journal, key: str, acted_on: set[int]) -> tuple[list[int], dict[int, Any]]:
    """Orders with an unanswered send that this run does not select, and their ledgers."""
    orphans = sorted(journal.pending_orders(key) - acted_on)
    return orphans, (journal.ledgers(key, orphans) if orphans else {})


def _run(
    verb: str,
    portal: Any,
    pairs: pd.DataFrame,
    items: list[Item],
    *,
    dry_run: bool,
    journal: Any,
    progress: bool,
    on_update: Callable[[list[Any]], None] | None,
    planner: Callable[[list[Item], Mapping[int, Any], Mapping[int, Any]], Plan],
    params: Mapping[str, Any],
    control: RunControl,
    wait: bool | float = False,
    in_flight: int = IN_FLIGHT,
) -> RunSummary:
    with control.lock:
        log: Any = LockedLog(FrameLog(pairs), control.lock)
    # before any request: a run that cannot journal its writes must not send them (a dry run
    # writes nothing, so a read-only journal is enough for it)
    j, opened = open_journal(journal, readonly=dry_run)
    before = requests_of(portal)
    stack = contextlib.ExitStack()
    try:
        if not items:
            logger.info("%s: no selected rows; nothing to do", verb)
            return make_summary(verb, None, log, items, dry_run, portal, before, 0.0, j)
        key = portal_identity(portal)
        # the run starts (a journal write) and claims its orders before any portal read, so
        # a journal that cannot be written fails before a request, and no other b24nb run
        # works on these orders meanwhile
        run_id = None if dry_run else j.start_run(key, verb, params)
        claims = None if run_id is None else Claims(j, key, run_id)
        stack.callback(lambda: claims.release() if claims is not None else None)
        todo, held_out = _claim(claims, items, wait, j, key)
        orders = [i.order_id for i in todo]
        ledgers = j.ledgers(key, orders)
        orphans, orphan_ledgers = ([], {}) if dry_run else _orphans(j, key, set(orders))
        owners = read_owners(portal, orders + orphans)
        plan = planner(todo, owners, ledgers)
        plan.outcomes[:0] = held_out
        _apply_plan(plan, j, key, run_id)
        if orphan_ledgers:
            assert run_id is not None
            settled = settle_orphans(orphan_ledgers, owners)
            j.record_answers(key, run_id, _settle_rows(settled), event="settle")  # type: ignore[arg-type]
            notify(on_update, log.write_if_pending([(s, o) for s, o in settled]))
        first = plan.outcomes + [
            Outcome(
                w.item.pair_id,
                "dry_run" if dry_run else "pending",
                None,
                ("would " if dry_run else "to ") + _describe(w),
            )
            for w in plan.writes
        ]
        eta = estimate_run(portal, plan.writes, in_flight) if plan.writes else None
        bar = None if dry_run or not plan.writes else _Bar(portal, len(plan.writes), verb, progress)
        if bar is not None and eta is not None:
            logger.info("%s: %d writes, %s", verb, len(plan.writes), eta.text)
            bar.bar.set_postfix_str(eta.text, refresh=True)
        try:
            with control.lock:
                changed = log.write(first)
                log.set_order_owners({o: owners.get(o) for o in orders + orphans})
                notify(on_update, changed)
            if bar is None:
                done = make_summary(verb, run_id, log, items, dry_run, portal, before, 0.0, j)
                if run_id is not None:
                    journal_end(j, key, run_id, done)
                return done
            assert run_id is not None
            sender = Sender(portal, j, key, run_id, log, bar.bar, on_update, control=control,
                            in_flight=in_flight)
            try:
                sender.run(plan.writes)
            except BaseException as exc:
                stopped = control.reason if isinstance(exc, KeyboardInterrupt) else None
                summary = make_summary(verb, run_id, log, items, False, portal, before, 0.0, j,
                                   key=key, stopped=stopped or code_of(exc), eta=eta)
                journal_end(j, key, run_id, summary)
                # say which run stopped and how, so it can be finished (rerun) or undone
                with contextlib.suppress(AttributeError, TypeError):
                    exc.b24nb_run_id = run_id  # type: ignore[attr-defined]
                    exc.b24nb_summary = summary  # type: ignore[attr-defined]
                    exc.add_note(f"b24nb: {verb} run {run_id} {summary.line}")
                if progress:
                    with contextlib.suppress(Exception):
                        bar.bar.write(f"b24nb: {verb} run {run_id} {summary.line}")
                raise
        finally:
            if bar is not None:
                bar.close()
        summary = make_summary(verb, run_id, log, items, False, portal, before, 0.0, j, key=key,
                           stopped=control.reason if control.stopping else None, eta=eta)
        journal_end(j, key, run_id, summary)
        return summary
    finally:
        stack.close()  # releases the run's claims
        if opened:
            j.close()


def _claim(claims: Claims | None, items: list[Item], wait: bool | float, journal: Journal,
           key: str) -> tuple[list[Item], list[Outcome]]:
    """Claim the run's orders; return the items to work on and outcomes for the others.

    An order another live b24nb run holds is ``skipped`` with that run named (or waited for,
    up to ``wait`` seconds; ``True`` is ten minutes).
    """
    if claims is None:
        return items, []
    orders = [i.order_id for i in items]
    if wait:
        held = claims.wait(orders, 600.0 if wait is True else float(wait))
    else:
        held = claims.claim(orders)
    if not held:
        return items, []
    out, notes = [], []
    for it in items:
        if it.order_id in held:
            msg = f"claimed by {describe(held[it.order_id])}; not sent: rerun after it ends, " \
                  "or pass wait=True"
            out.append(Outcome(it.pair_id, "skipped", None, msg))
            notes.append(note_row(it, "skipped", msg, None))
    journal.note(key, claims.run_id, notes)
    logger.info("%d orders are claimed by another run; skipped", len(out))
    return [i for i in items if i.order_id not in held], out


def _describe(w: Any) -> str:
    if w.action == "bind":
        moved = f" (replacing {fmt(w.prev)})" if w.prev is not None else ""
        return f"bind order {w.item.order_id} to {fmt(w.owner)}{moved}"
    if w.action == "restore":
        return f"give order {w.item.order_id} back to {fmt(w.owner)}"
    return f"unbind order {w.item.order_id} from {fmt(w.owner)}"


def bind(
    portal: Any,
    pairs: pd.DataFrame,
    *,
    deals: pd.DataFrame | None = None,
    invoices: pd.DataFrame | list[pd.DataFrame] | None = None,
    dry_run: bool = False,
    allow_rebind: bool = False,
    journal: Journal | str | os.PathLike[str] | None = None,
    progress: bool = True,
    on_update: Callable[[list[Any]], None] | None = None,
    wait: bool | float = False,
    pair_ids: Any = None,
    control: RunControl | None = None,
    in_flight: int = IN_FLIGHT,
) -> RunSummary:
    """Bind the selected orders to their deals, logging every answer into the frame.

    Why so careful: ``crm.orderentity.add`` writes to a customer's CRM and silently replaces an
    order's existing owner. So nothing is sent for an invalid frame, every order's current
    owner is read first (an order bound elsewhere is refused unless ``allow_rebind=True``),
    every write is journaled before it is sent and answered after, and a rerun (after a
    crash, a kill, an exception) skips what is done and settles what was left unanswered.

    Parameters
    ----------
    portal : b24nb.Portal
        Where to write.
    pairs : pandas.DataFrame
        The pairs frame; rows with ``selected`` True are bound. Its ``bind_status``,
        ``bind_error`` (the portal's code as a string), ``bind_message``, ``bind_response``
        and ``bind_at`` columns are written in place, batch by batch. Pass the frame itself,
        not a filtered copy (``pairs[pairs.score > .9]``): the log goes into the object
        passed, and a copy's log is lost with it (the journal still has every answer).
    deals : pandas.DataFrame, optional
        When given, every selected deal (owner type 2) must be in it.
    invoices : DataFrame or list of DataFrame, optional
        :func:`b24nb.load_invoices` frames; when given, every selected invoice (owner type
        31 or 5) must be in the frame of its type.
    dry_run : bool
        Validate and read, then mark the rows that would be sent ``dry_run``; send nothing.
    allow_rebind : bool
        Move orders bound to another owner (``rebound``; the old owner is journaled so
        ``unbind`` restores it). Without it such rows read ``needs_rebind``.
    journal : Journal | path, optional
        Default ``$B24NB_JOURNAL`` or ``~/.b24nb/journal.sqlite``.
    progress : bool
        Show a ``tqdm`` bar: first the run's expected duration under the portal's limits
        ("≈ 4 min: the portal allows about 1,450 bindings per 10 minutes"), then done/total,
        rate, ETA and the reason for any wait.
    on_update : callable, optional
        ``on_update(pair_ids)`` after each batch, so a widget can refresh those rows.
    wait : bool | float
        Orders another b24nb run on the same journal is working on (it claimed them) are
        ``skipped``, naming that run; ``wait=True`` waits up to ten minutes for them (a
        number: that many seconds). A killed run's claims lapse by themselves in a minute.
    pair_ids : iterable, optional
        Bind exactly these rows (labels of ``pairs.index``); ``selected`` is then ignored
        and left as it is.
    control : RunControl, optional
        Stop the run from another thread (``control.stop()``: the batches in flight finish,
        nothing more is sent, the rest reads ``skipped``), hold ``control.lock`` to read the
        frame during the run, ``control.on_progress`` for progress as data.
    in_flight : int
        Batches of 50 sent at once at most (within the portal's request and operating-time
        limits, which the client books before each batch).

    Returns
    -------
    RunSummary
        Counts by status, run id, HTTP requests and seconds waited on limits; after a Stop
        ``summary.line`` says in one line what happened and what to do.

    Raises
    ------
    b24nb.errors.ValidationError
        Listing every offending row; nothing was sent.
    b24nb.journal.JournalError
        The journal cannot be written (a read-only disk, say); nothing was sent.
    b24nb.errors.PortalError
        A failure that stops the run (auth revoked, access denied, a read that kept failing).
        Rows sent without an answer read ``pending``, rows not sent ``skipped``; the
        exception carries ``b24nb_run_id``, and a rerun finishes the job without duplicates.
    KeyboardInterrupt
        Raised again after the batches in flight were answered into the frame and the
        journal; its note (and ``b24nb_summary``) says in one line what was done.

    Examples
    --------
    >>> import b24nb
    >>> portal = b24nb.connect()  # doctest: +SKIP
    >>> pairs = b24nb.suggest(b24nb.load_deals(portal), b24nb.load_orders(portal))  # doctest: +SKIP
    >>> b24nb.bind(portal, pairs, dry_run=True)  # doctest: +SKIP
    """
    control = control or RunControl()
    with control.lock:
        items = selected_items(selection(pairs, pair_ids, "bind"), deals=deals, invoices=invoices,
                               verb="bind")
    if not items:  # issue 15: say so instead of returning silently
        import warnings

        from b24nb.preflight import NothingSelectedWarning

        warnings.warn("bind: no pair is selected, so nothing is sent; tick pairs in the grid "
                      "or set pairs['selected'] first", NothingSelectedWarning, stacklevel=2)
    return _run(
        "bind",
        portal,
        pairs,
        items,
        dry_run=dry_run,
        journal=journal,
        progress=progress,
        on_update=on_update,
        planner=lambda todo, owners, ledgers: plan_bind(
            todo, owners, ledgers, allow_rebind=allow_rebind
        ),
        params={"dry_run": dry_run, "allow_rebind": allow_rebind, "selected": len(items)},
        wait=wait,
        control=control,
        in_flight=in_flight,
    )


def unbind(
    portal: Any,
    pairs: pd.DataFrame,
    *,
    run_id: str | None = None,
    journal: Journal | str | os.PathLike[str] | None = None,
    progress: bool = True,
    on_update: Callable[[list[Any]], None] | None = None,
    dry_run: bool = False,
    wait: bool | float = False,
    pair_ids: Any = None,
    control: RunControl | None = None,
    in_flight: int = IN_FLIGHT,
) -> RunSummary:
    """Undo what ``bind`` made for the selected rows: remove, or give back the replaced owner.

    Only bindings this toolkit made (per the journal) and that the portal still shows are
    touched; anything changed on the portal since is left alone (``skipped``). A binding that
    replaced an owner is undone by binding the order back to that owner (one
    ``crm.orderentity.add``, so the order is never left without one); others are removed with
    ``crm.orderentity.deleteByFilter``. Rows read ``unbound`` when done.

    Parameters
    ----------
    portal, pairs, journal, progress, on_update, dry_run, wait, pair_ids, control, in_flight
        As for :func:`bind`.
    run_id : str, optional
        Undo only the bindings made by this run (see ``b24nb.history()``).

    Examples
    --------
    >>> b24nb.unbind(portal, pairs)  # doctest: +SKIP
    """
    control = control or RunControl()
    with control.lock:
        items = selected_items(selection(pairs, pair_ids, "unbind"), verb="unbind")
    return _run(
        "unbind",
        portal,
        pairs,
        items,
        dry_run=dry_run,
        journal=journal,
        progress=progress,
        on_update=on_update,
        planner=lambda todo, owners, ledgers: plan_unbind(todo, owners, ledgers, run_id=run_id),
        params={"run_id": run_id, "selected": len(items)},
        wait=wait,
        control=control,
        in_flight=in_flight,
    )
