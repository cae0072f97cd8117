"""Bulk ticks that keep the matcher's rules: "Tick all ≥", "Untick all", "Untick shown".

Why apart from the grid: the promise "Tick all ≥ ticks what ``suggest()`` would pre-tick at
that threshold" is a rule about the frame, not about widgets, and a test holds it to
``suggest(high=t)``'s own ``selected`` column. The rule reads only contract columns, so it
works on any pairs frame (suggest's, a reloaded one, one with decisions applied).

The rule, per pair (docs/contracts.md §pairs, ``b24nb.match`` "Rules an analyst can rely on"):

* ``score >= threshold``;
* the best-scoring pair of its order (an order has one owner);
* not ``ambiguous`` (a close second candidate needs a human);
* not a ``rebind`` and its order not held by an auto-created owner, unless the analyst asks
  to include rebinds (moving an order is the analyst's call);
* its deal not suggested for a better order too (a shared deal is a split delivery, never
  pre-ticked);
* not rejected (``decision == "reject"``), not already bound, its order not already ticked
  or bound through another pair (the button never overrides a hand-made choice).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from b24nb.widgets._view import DONE_STATUSES

__all__ = ["TickPlan", "tick_all_plan"]


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].to_numpy(dtype=bool, na_value=False)


def _done(frame: pd.DataFrame) -> np.ndarray:
    if "bind_status" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["bind_status"].isin(sorted(DONE_STATUSES)).to_numpy(dtype=bool, na_value=False)


def _shared(frame: pd.DataFrame) -> np.ndarray:
    """Pairs whose deal also owns (or is suggested for) another order: a split delivery.

    A ``shared`` column wins when the matcher gives one; else its ``reasons`` say so (the
    other order may be bound to the deal already and then is not in the frame at all).
    """
    if "shared" in frame.columns:
        return _flag(frame, "shared")
    if "reasons" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["reasons"].astype("string").str.contains(
        "deal shared", regex=False).to_numpy(dtype=bool, na_value=False)


def _best_per(keys: np.ndarray, score: np.ndarray) -> np.ndarray:
    """True where a row is the single best of its key (ties: the first position wins)."""
    n = len(keys)
    best = np.zeros(n, dtype=bool)
    if n == 0:
        return best
    order = np.lexsort((np.arange(n), -score, keys))  # by key, best score first
    first = np.ones(n, dtype=bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    best[order[first]] = True
    return best


class TickPlan:
    """What "Tick all ≥" would tick, and how many rebinds are among them.

    Attributes
    ----------
    positions : numpy.ndarray
        Row positions to tick.
    rebinds : int
        How many of them move an order bound elsewhere today (only with ``include_rebinds``).
    held_back : int
        Pairs at or above the threshold the rule leaves unticked (ambiguous, rebinds, shared
        deals, rejected, already taken): the confirmation says how many and why.
    """

    def __init__(self, positions: np.ndarray, rebinds: int, held_back: int) -> None:
        self.positions = positions
        self.rebinds = rebinds
        self.held_back = held_back


def tick_all_plan(frame: pd.DataFrame, view: np.ndarray, threshold: float, *,
                  include_rebinds: bool = False) -> TickPlan:
    """The pairs of ``view`` that "Tick all ≥ ``threshold``" ticks (see the module rules).

    Parameters
    ----------
    frame
        The pairs frame.
    view
        Row positions the grid shows now (the current filter): only these are ticked, but the
        "best of its order" and "shared deal" tests look at the whole frame.
    threshold
        The slider's value.
    include_rebinds
        Also tick pairs that move an order bound elsewhere today.
    """
    score = frame["score"].to_numpy(dtype=float, na_value=-np.inf)
    orders = frame["order_id"].to_numpy(dtype="float64", na_value=np.nan)
    deals = frame["deal_id"].to_numpy(dtype="float64", na_value=np.nan)
    owner_type = (frame["owner_type_id"].to_numpy(dtype="float64", na_value=2.0)
                  if "owner_type_id" in frame.columns else np.full(len(frame), 2.0))
    best_of_order = _best_per(orders, score)
    # a deal is taken by the best order it is the best candidate of; other orders share it
    owner_key = deals * 100 + owner_type  # deals and invoices of the same id stay apart
    deal_best = np.zeros(len(frame), dtype=bool)
    tops = np.flatnonzero(best_of_order)
    deal_best[tops[_best_per(owner_key[tops], score[tops])]] = True
    deal_best &= ~_shared(frame)
    rebind = _flag(frame, "rebind") | _flag(frame, "current_owner_auto")
    rejected = (frame["decision"].eq("reject").to_numpy(dtype=bool, na_value=False)
                if "decision" in frame.columns else np.zeros(len(frame), dtype=bool))
    taken_orders = orders[_flag(frame, "selected") | _done(frame)]
    free_order = ~np.isin(orders, taken_orders)
    view = np.asarray(view, dtype=np.intp)
    above = view[score[view] >= threshold - 1e-12]
    ok = (best_of_order[above] & deal_best[above] & ~_flag(frame, "ambiguous")[above]
          & ~rejected[above] & free_order[above] & ~_done(frame)[above])
    if not include_rebinds:
        ok &= ~rebind[above]
    chosen = np.sort(above[ok])
    return TickPlan(chosen, int(rebind[chosen].sum()), int(len(above) - len(chosen)))
