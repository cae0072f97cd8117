"""Opening a journal for a verb, and ``history()``: the journal as a DataFrame."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from b24nb.journal.keys import portal_key
from b24nb.journal.store import Journal, JournalError

__all__ = ["history", "open_journal"]


def open_journal(
    journal: Journal | str | os.PathLike[str] | None, *, readonly: bool = False
) -> tuple[Journal, bool]:
    """Return ``(journal, opened_here)`` for a ``journal=`` argument.

    Raises :class:`JournalError` when the journal cannot be opened (or, unless ``readonly``,
    written), and when a :class:`Journal` given to write to was opened read-only.
    """
    if isinstance(journal, Journal):
        if journal.readonly and not readonly:
            raise JournalError(f"the journal at {journal.path} was opened read-only")
        return journal, False
    return Journal(journal, readonly=readonly), True


def history(
    journal: Journal | str | os.PathLike[str] | None = None,
    *,
    portal: Any = None,
    run_id: str | None = None,
) -> pd.DataFrame:
    """Return the journal as a DataFrame, one row per event, oldest first.

    Why: the journal is the audit trail of what b24nb did to a CRM; an analyst reads it like
    any other frame (filter by ``run_id``, ``order_id``, ``status``).

    Parameters
    ----------
    journal : Journal | path | None
        Which journal; None means ``$B24NB_JOURNAL`` or ``~/.b24nb/journal.sqlite``.
    portal : b24nb.Portal | str | None
        Keep only this portal's events: a connected portal, or its journal key
        (``"https://host#user1"``, the ``portal`` column).
    run_id : str | None
        Keep only one run's events.

    Returns
    -------
    pandas.DataFrame
        Index ``id``; columns ``at`` (UTC), ``portal``, ``run_id``, ``event`` (run, send,
        answer, settle, note), ``action`` (bind, unbind, restore), ``method``, ``pair_id``,
        ``order_id``, ``owner_id``, ``owner_type_id``, ``prev_owner_id``,
        ``prev_owner_type_id``, ``send_id``, ``status``, ``error``, ``message``, ``response``.

    Examples
    --------
    >>> import b24nb
    >>> h = b24nb.history()  # doctest: +SKIP
    >>> h[h.event == "answer"].status.value_counts()  # doctest: +SKIP
    """
    if portal is not None:
        portal = portal_key(portal)  # the portal names itself; the journal imports no verbs
    # read-only: the audit trail stays readable on a read-only disk, and reading creates no file
    j, opened = open_journal(journal, readonly=True)
    try:
        return j.frame(portal, run_id=run_id)
    finally:
        if opened:
            j.close()
