"""The public verb of the review grid: :func:`review`.

Why a module of its own: ``__init__`` only re-exports, and the verb is a thin façade over one
worker (:class:`~b24nb.widgets.picker.MatchPicker`), like ``pandas.read_*``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from b24nb.widgets._options import DEFAULT_THRESHOLD
from b24nb.widgets.picker import MatchPicker

__all__ = ["review"]


def review(  # noqa: PLR0913 - public verb; pandas-style keyword options
        pairs: pd.DataFrame, portal: Any = None, *, deals: Any = None, journal: Any = None,
        page_size: int = 25, threshold: float = DEFAULT_THRESHOLD, dry_run: bool = False,
        allow_rebind: bool = False, export_path: str = "b24nb-log.csv",
        record_decisions: bool = True) -> MatchPicker:
    """Open the review grid over ``pairs``; tick pairs and bind them from the grid.

    Why a function: like ``pandas.read_*`` it is the verb analysts type, and it returns the
    widget so the cell shows it and later cells can read ``picker.pairs`` (the same frame,
    modified in place).

    Parameters
    ----------
    pairs
        The frame from :func:`b24nb.suggest`; ticks go to its ``selected`` column and runs
        write its ``bind_*`` columns.
    portal
        Where "Bind selected" sends; ``None`` makes the grid review-only.
    deals, journal
        Passed to :func:`b24nb.bind`.
    page_size
        25 or 50 rows per page.
    threshold
        Start value of the "tick all ≥" slider; by default ``suggest()``'s ``high`` (0.99).
    dry_run, allow_rebind
        Start values of the two toggles next to the Bind button.
    export_path, record_decisions
        Where *Export* writes first; whether decisions also go to the journal (see
        :class:`MatchPicker`).

    Returns
    -------
    MatchPicker
        The widget; display it (last expression of a cell) to see it.

    Examples
    --------
    >>> portal = b24nb.connect()                                   # doctest: +SKIP
    >>> pairs = b24nb.suggest(b24nb.load_deals(portal), b24nb.load_orders(portal))  # doctest: +SKIP
    >>> b24nb.review(pairs, portal=portal)                         # doctest: +SKIP
    """
    return MatchPicker(pairs, portal, deals=deals, journal=journal, page_size=page_size,
                       threshold=threshold, dry_run=dry_run, allow_rebind=allow_rebind,
                       export_path=export_path, record_decisions=record_decisions)
