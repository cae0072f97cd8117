"""``bind()`` and ``unbind()``: the steps that write to a customer's CRM.

Each call runs the same five steps: validate the frame (nothing is sent for a bad one), read
the current owner of every selected order (a few batched ``crm.orderentity.list`` pages),
fold the journal, plan row by row (:mod:`b24nb.binding.plan`), and send the writes in batches of
50 (:mod:`b24nb.binding.sender`), writing every answer into the frame and the journal. The verbs
here validate and gather their keywords; :mod:`b24nb.binding.engine` runs the steps.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pandas as pd

from b24nb.binding.control import RunControl
from b24nb.binding.engine import RunOptions, run_verb
from b24nb.binding.identity import portal_identity
from b24nb.binding.pace import IN_FLIGHT
from b24nb.binding.plan import plan_bind, plan_unbind
from b24nb.binding.summary import RunSummary, selection, summary_line
from b24nb.binding.validate import selected_items
from b24nb.journal import Journal

__all__ = ["RunSummary", "bind", "portal_identity", "summary_line", "unbind"]


def bind(  # noqa: PLR0913 - public verb; keyword-only options, pandas-style
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
    opts = RunOptions(
        "bind",
        planner=lambda todo, owners, ledgers: plan_bind(
            todo, owners, ledgers, allow_rebind=allow_rebind
        ),
        params={"dry_run": dry_run, "allow_rebind": allow_rebind, "selected": len(items)},
        control=control,
        dry_run=dry_run,
        journal=journal,
        progress=progress,
        on_update=on_update,
        wait=wait,
        in_flight=in_flight,
    )
    return run_verb(portal, pairs, items, opts)


def unbind(  # noqa: PLR0913 - public verb; keyword-only options, as bind's
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
    opts = RunOptions(
        "unbind",
        planner=lambda todo, owners, ledgers: plan_unbind(todo, owners, ledgers, run_id=run_id),
        params={"run_id": run_id, "selected": len(items)},
        control=control,
        dry_run=dry_run,
        journal=journal,
        progress=progress,
        on_update=on_update,
        wait=wait,
        in_flight=in_flight,
    )
    return run_verb(portal, pairs, items, opts)
