"""The pairs contract in one place: columns and dtypes, ``bind_status`` values, owner types.

Why a module of its own: the pairs frame is what every part hands the next — ``suggest`` makes
it, the grid shows and ticks it, ``bind`` logs into it, the journal and the reports read it —
and each of them used to restate the part of the contract it needed (the statuses in four
places, the owner types in three). Here it is said once (docs/contracts.md §Frames explains
each column); the others import it and never spell it again.

It imports nothing of b24nb (only pandas and numpy, for the typed builder), so any part may
import it. The comparison names are part of the contract (one ``lvl_*`` column per comparison,
one ``ev_*`` per weighed one); the matcher defines their levels against these names
(:mod:`b24nb.match._levels`). The typed builders (:func:`empty_pairs`, :func:`typed_pairs`)
live here too, so a frame made by ``suggest`` and one made by a test helper cannot disagree
on a dtype.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "COLUMNS", "COMPARED", "DEAL", "DECIDED_COLUMNS", "DONE", "EV_COLUMNS", "LEGACY_INVOICE",
    "LOG_COLUMNS", "LVL_COLUMNS", "MADE", "OPEN", "OWNER_NAMES", "OWNER_TYPES", "SMART_INVOICE",
    "STATUSES", "WEIGHED", "empty_pairs", "owner_name", "pair_index", "typed_pairs",
]

# ---------------------------------------------------------------------------- owner types
DEAL, LEGACY_INVOICE, SMART_INVOICE = 2, 5, 31
#: the only owners an order may be bound to (``crm.orderentity`` ``ownerTypeId``)
OWNER_TYPES = frozenset({DEAL, LEGACY_INVOICE, SMART_INVOICE})
#: how messages and the grid name each owner type
OWNER_NAMES: dict[int, str] = {DEAL: "deal", LEGACY_INVOICE: "invoice",
                               SMART_INVOICE: "smart invoice"}


def owner_name(type_id: int) -> str:
    """``deal`` / ``invoice`` / ``smart invoice``, or ``type N`` for one the portal made up."""
    return OWNER_NAMES.get(type_id, f"type {type_id}")


# ---------------------------------------------------------------------------- bind_status
#: every value ``bind_status`` can take
STATUSES = (
    "pending",
    "bound",
    "already_bound",
    "rebound",
    "needs_rebind",
    "failed",
    "skipped",
    "dry_run",
    "unbound",
)
#: the order has the pair's owner now (b24nb wrote it, or found it already there)
DONE = frozenset({"bound", "already_bound", "rebound"})
#: this write made the binding it asked for (``already_bound`` found it made)
MADE = frozenset({"bound", "rebound"})
#: not done and not in flight: what a rerun or *Retry failed* picks up
OPEN = ("failed", "needs_rebind", "skipped")

# ---------------------------------------------------------------------------- columns
_UTC = "datetime64[ns, UTC]"
#: every comparison the matcher makes of a pair (one agreement level each)
COMPARED = ("amount", "currency", "client", "email", "phone", "name", "number", "date",
            "responsible", "customer")
#: the comparisons the model weighs (contact, e-mail, phone and name are weighed together
#: as ``customer``; the others are shown)
WEIGHED = ("amount", "currency", "customer", "number", "date", "responsible")
#: log2-odds terms: they add up to ``weight``, whose probability is ``score``
EV_COLUMNS = ("ev_prior", *(f"ev_{c}" for c in WEIGHED), "ev_rivals")
#: agreement levels (small ints; labels in ``b24nb.match.LEVELS``)
LVL_COLUMNS = tuple(f"lvl_{c}" for c in COMPARED)
#: the review's decision columns
DECIDED_COLUMNS: dict[str, str] = {"decision": "string", "decided_at": _UTC}
#: the log columns ``bind``/``unbind`` write, row by row
LOG_COLUMNS: dict[str, str] = {
    "bind_status": "string",
    "bind_error": "string",
    "bind_message": "string",
    "bind_response": "object",
    "bind_at": _UTC,
}
#: every column of a pairs frame, in order, with its dtype
COLUMNS: dict[str, str] = {
    "deal_id": "Int64",
    "order_id": "Int64",
    "owner_type_id": "Int64",
    "score": "float64",
    "weight": "float64",
    "reasons": "string",
    "found_by": "string",
    **dict.fromkeys(EV_COLUMNS, "float64"),
    **dict.fromkeys(LVL_COLUMNS, "int8"),
    "deal_title": "string",
    "deal_amount": "float64",
    "deal_date": _UTC,
    "order_number": "string",
    "order_amount": "float64",
    "order_date": _UTC,
    "currency": "string",
    "customer": "string",
    "current_owner_id": "Int64",
    "current_owner_type_id": "Int64",
    "current_owner_auto": "boolean",
    "rebind": "boolean",
    "ambiguous": "boolean",
    "selected": "boolean",
    **DECIDED_COLUMNS,
    **LOG_COLUMNS,
}


# ---------------------------------------------------------------------------- typed frames
def pair_index(n: int, first: int = 0) -> pd.Index:
    """The ``pair_id`` index: ``first … first + n − 1`` as nullable ``Int64``."""
    return pd.Index(pd.array(np.arange(first, first + n), dtype="Int64"), name="pair_id")


def empty_pairs() -> pd.DataFrame:
    """A pairs frame with no rows and every column in its contract dtype."""
    frame = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in COLUMNS.items()})
    frame.index = pair_index(0)
    return frame


def _utc(values: pd.Series) -> pd.Series:
    s = pd.to_datetime(values)
    if getattr(s.dt, "tz", None) is None:
        s = s.dt.tz_localize("UTC")
    return s.dt.tz_convert("UTC").astype(_UTC)


def _blank(dtype: str, n: int) -> pd.Series | np.ndarray:
    """``n`` missing values of ``dtype``: the review's and the log's columns before use."""
    if dtype == "object":
        return np.full(n, None, dtype=object)
    return pd.Series(pd.NA if dtype == "string" else pd.NaT, index=range(n), dtype=dtype)


def typed_pairs(cols: Mapping[str, object]) -> pd.DataFrame:
    """A full pairs frame from per-row arrays (already in final row order), cast to the contract.

    Every column of :data:`COLUMNS` but the decision and log ones must be in ``cols``; those
    (``decision``, ``decided_at``, ``bind_*``) start empty, since only the review and
    ``bind`` fill them. ``pair_id`` is 0 … n − 1.
    """
    n = len(cols["deal_id"])  # type: ignore[arg-type]
    data: dict[str, pd.Series | pd.api.extensions.ExtensionArray | np.ndarray] = {}
    for col, dtype in COLUMNS.items():
        if col in LOG_COLUMNS or col in DECIDED_COLUMNS:
            data[col] = _blank(dtype, n)
            continue
        v = cols[col]
        if dtype == _UTC:
            data[col] = _utc(pd.Series(v))
        elif dtype in ("string", "Int64", "boolean"):
            data[col] = pd.array(v, dtype=dtype)
        else:
            data[col] = np.asarray(v, dtype=dtype)
    frame = pd.DataFrame({c: pd.Series(v).reset_index(drop=True) if isinstance(v, pd.Series)
                          else v for c, v in data.items()})
    frame.index = pair_index(n)
    return frame
