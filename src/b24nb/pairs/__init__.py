"""The pairs contract in one place: columns and dtypes, ``bind_status`` values, owner types,
the typed builders and the frame log.

Why a package of its own: the pairs frame is what every part hands the next — ``suggest``
makes it, the grid shows and ticks it, ``bind`` logs into it, the journal and the reports
read it — and each of them used to restate the part of the contract it needed (the statuses
in four places, the owner types in three). Here it is said once (docs/contracts.md §Frames
explains each column); the others import it and never spell it again.

It imports nothing of b24nb outside itself (only pandas and numpy), so any part may import
it. The comparison names are part of the contract (one ``lvl_*`` column per comparison, one
``ev_*`` per weighed one); the matcher defines their levels against these names
(:mod:`b24nb.match._levels`).

* :mod:`~b24nb.pairs.contract` — the words: columns, dtypes, statuses, owner types;
* :mod:`~b24nb.pairs.frames` — :func:`empty_pairs`, :func:`typed_pairs`, :func:`pair_index`;
* :mod:`~b24nb.pairs.log` — :class:`FrameLog`, which writes each row's outcome (``bind_*``)
  and current owner into the frame while a run is under way.
"""

from __future__ import annotations

from b24nb.pairs.contract import (
    COLUMNS,
    COMPARED,
    DEAL,
    DECIDED_COLUMNS,
    DONE,
    EV_COLUMNS,
    LEGACY_INVOICE,
    LOG_COLUMNS,
    LVL_COLUMNS,
    MADE,
    OPEN,
    OWNER_NAMES,
    OWNER_TYPES,
    SMART_INVOICE,
    STATUSES,
    UTC,
    WEIGHED,
    owner_name,
)
from b24nb.pairs.frames import empty_pairs, pair_index, typed_pairs
from b24nb.pairs.log import FrameLog, Outcome, fmt

__all__ = [
    "COLUMNS", "COMPARED", "DEAL", "DECIDED_COLUMNS", "DONE", "EV_COLUMNS", "LEGACY_INVOICE",
    "LOG_COLUMNS", "LVL_COLUMNS", "MADE", "OPEN", "OWNER_NAMES", "OWNER_TYPES", "SMART_INVOICE",
    "STATUSES", "UTC", "WEIGHED", "FrameLog", "Outcome", "empty_pairs", "fmt", "owner_name",
    "pair_index", "typed_pairs",
]
