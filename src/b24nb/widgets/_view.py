"""What the review grid shows: filtering, sorting and sibling lookups on the pairs frame.

Why a separate module without ipywidgets: every decision about *which* rows are visible is a
vectorised pandas/numpy operation on the frame, testable and measurable on its own. The view
is an array of row positions computed once per filter change; a page change then only slices
that array, so its cost depends on the page size, never on the frame size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from b24nb.journal.verdicts import review_progress  # the one rule of "reviewed"
from b24nb.pairs import DONE

__all__ = ["DECISION_FILTERS", "DONE_STATUSES", "SORTS", "STATUS_FILTERS", "Filters",
           "FrameIndex", "OrderIndex", "TextSearch", "blockers", "compute_view", "done_mask",
           "histogram", "selected_mask", "status_counts"]

#: statuses meaning "the order is bound to this pair's deal now"
DONE_STATUSES: frozenset[str] = DONE

#: sort label -> (column, ascending)
SORTS: dict[str, tuple[str, bool]] = {
    "score ↓": ("score", False),
    "score ↑": ("score", True),
    "order": ("order_id", True),
    "deal": ("deal_id", True),
    "order date": ("order_date", True),
    "amount ↓": ("order_amount", False),
}

#: status-filter labels, in the order the dropdown shows them
STATUS_FILTERS: tuple[str, ...] = (
    "all", "not sent", "selected", "not selected", "rebind warning", "ambiguous",
    "bound", "failed", "needs_rebind", "dry_run", "skipped", "unbound",
    "rejected", "unsure", "accepted", "undecided",
)

#: decision-filter label -> the ``decision`` value it shows (None: no decision yet)
DECISION_FILTERS: dict[str, str | None] = {
    "rejected": "reject", "unsure": "unsure", "accepted": "accept", "undecided": None,
}

_SEARCH_COLUMNS = ("deal_title", "order_number", "customer", "reasons", "found_by")


@dataclass(frozen=True)
class Filters:
    """The filter and sort state; equal filters give the same cached view."""

    text: str = ""
    band: tuple[float, float] = (0.0, 1.0)
    status: str = "all"
    sort: str = "score ↓"


def _bool(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A plain numpy bool array of ``column`` (NA counts as False; absent column is all False)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].to_numpy(dtype=bool, na_value=False)


def selected_mask(frame: pd.DataFrame) -> np.ndarray:
    """Rows ticked for binding (``selected`` true)."""
    return _bool(frame, "selected")


def _status(frame: pd.DataFrame) -> pd.Series:
    if "bind_status" not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame["bind_status"]


def _status_mask(frame: pd.DataFrame, status: str) -> np.ndarray | None:
    """Boolean mask for one status-filter label; None means no restriction."""
    if status == "all":
        return None
    bs = _status(frame)
    if status == "not sent":
        return bs.isna().to_numpy()
    if status == "selected":
        return selected_mask(frame)
    if status == "not selected":
        return ~selected_mask(frame)
    if status == "rebind warning":
        return _bool(frame, "rebind")
    if status == "ambiguous":
        return _bool(frame, "ambiguous")
    if status in DECISION_FILTERS:
        if "decision" not in frame.columns:
            return np.full(len(frame), DECISION_FILTERS[status] is None)
        want = DECISION_FILTERS[status]
        if want is None:
            return frame["decision"].isna().to_numpy(dtype=bool)
        return frame["decision"].eq(want).to_numpy(dtype=bool, na_value=False)
    if status == "bound":
        return bs.isin(sorted(DONE_STATUSES)).to_numpy(dtype=bool, na_value=False)
    return (bs == status).to_numpy(dtype=bool, na_value=False)


class TextSearch:
    """Case-insensitive substring search over the text columns, plus exact ids.

    Why column by column: pandas' string methods run in pyarrow compute over each column
    (about 0.1 s per million rows), while concatenating the columns into one search text first
    costs seconds and memory. The search runs only when the text changes.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def contains(self, needle: str) -> np.ndarray:
        frame = self._frame
        mask = np.zeros(len(frame), dtype=bool)
        for column in _SEARCH_COLUMNS:
            if column in frame.columns:
                hit = frame[column].astype("string").str.contains(needle, case=False,
                                                                  regex=False)
                mask |= hit.to_numpy(dtype=bool, na_value=False)
        if needle.isdigit():  # "4711" also finds deal 4711 and order 4711
            for column in ("deal_id", "order_id"):
                mask |= (frame[column] == int(needle)).to_numpy(dtype=bool, na_value=False)
        return mask


def compute_view(frame: pd.DataFrame, filters: Filters, search: TextSearch) -> np.ndarray:
    """Row positions (into ``frame``) that pass ``filters``, in display order.

    Ties are broken by position, so the order is deterministic and pages never shuffle.
    """
    score = frame["score"].to_numpy(dtype=float, na_value=np.nan)
    lo, hi = filters.band
    mask = (score >= lo - 1e-12) & (score <= hi + 1e-12)
    if lo <= 0.0:
        mask |= np.isnan(score)
    status = _status_mask(frame, filters.status)
    if status is not None:
        mask &= status
    if filters.text.strip():
        mask &= search.contains(filters.text.strip())
    positions = np.flatnonzero(mask)
    column, ascending = SORTS.get(filters.sort, SORTS["score ↓"])
    if column not in frame.columns or len(positions) == 0:
        return positions
    key = frame[column].iloc[positions]
    if isinstance(key.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(key):
        values = key.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        values[key.isna().to_numpy()] = np.nan
    else:
        values = key.to_numpy(dtype=float, na_value=np.nan)
    if not ascending:
        values = -values
    values = np.where(np.isnan(values), np.inf, values)  # missing keys sort last either way
    order = np.lexsort((positions, values))
    return positions[order]


class OrderIndex:
    """Find the other candidates of the same order without touching the whole frame.

    One argsort of ``order_id`` (vectorised, done once) turns "which pairs share this order"
    into a binary search, so greying out siblings costs O(page), not O(frame).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        orders = frame["order_id"].to_numpy(dtype="float64", na_value=np.nan)
        self._sorted_pos = np.argsort(orders, kind="stable")
        self._sorted_val = orders[self._sorted_pos]

    def siblings(self, order_ids: Sequence[float] | np.ndarray) -> list[np.ndarray]:
        """Positions of every pair of each given order (including the pair itself)."""
        keys = np.asarray(order_ids, dtype="float64")
        lo = np.searchsorted(self._sorted_val, keys, side="left")
        hi = np.searchsorted(self._sorted_val, keys, side="right")
        return [self._sorted_pos[a:b] for a, b in zip(lo, hi, strict=True)]


def done_mask(frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    """Which of the rows at ``positions`` are bound to their deal now."""
    if "bind_status" not in frame.columns:
        return np.zeros(len(positions), dtype=bool)
    status = frame["bind_status"].iloc[positions]
    return status.isin(sorted(DONE_STATUSES)).to_numpy(dtype=bool, na_value=False)


def blockers(frame: pd.DataFrame, orders: OrderIndex, positions: np.ndarray) -> list[Any]:
    """For each position, the pair id already holding its order (ticked or bound), or None.

    A pair that is itself ticked or bound holds its order and is never blocked. Only the
    siblings of the given rows are read, so a page costs O(page).
    """
    keys = frame["order_id"].iloc[positions].to_numpy(dtype="float64", na_value=np.nan)
    groups = orders.siblings(keys)
    flat = np.concatenate(groups) if groups else np.array([], dtype=np.intp)
    holds = (frame["selected"].iloc[flat].to_numpy(dtype=bool, na_value=False)
             | done_mask(frame, flat))
    holding = dict(zip(flat.tolist(), holds.tolist(), strict=True))
    label = dict(zip(flat.tolist(), frame.index.take(flat).tolist(), strict=True))
    result: list[Any] = []
    for pos, group in zip(positions.tolist(), groups, strict=True):
        if holding.get(pos):
            result.append(None)
            continue
        other = next((p for p in group.tolist() if p != pos and holding.get(p)), None)
        result.append(None if other is None else label[other])
    return result


def histogram(frame: pd.DataFrame, bins: int = 20) -> np.ndarray:
    """Counts of scores in ``bins`` equal bins over [0, 1]."""
    score = frame["score"].to_numpy(dtype=float, na_value=np.nan)
    counts, _ = np.histogram(score[~np.isnan(score)], bins=bins, range=(0.0, 1.0))
    return counts


def status_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Counts for the summary line: pairs, orders, selected, and each bind status."""
    counts: dict[str, int] = {
        "pairs": len(frame),
        "orders": int(frame["order_id"].nunique()),
        "selected": int(selected_mask(frame).sum()),
        "rebind warning": int(_bool(frame, "rebind").sum()),
    }
    for status, n in _status(frame).value_counts(dropna=True).items():
        counts[str(status)] = int(n)
    if "decision" in frame.columns:
        for label, value in DECISION_FILTERS.items():
            if value is not None:
                counts[label] = int(frame["decision"].eq(value).sum())
    counts["reviewed"] = review_progress(frame)["reviewed"]
    return counts


def _shape(frame: pd.DataFrame) -> tuple[int, Any, Any]:
    return (len(frame), frame.index[0] if len(frame) else None,
            frame.index[-1] if len(frame) else None)


class FrameIndex:
    """What the grid derives from the whole frame once: text search, order index, score bins.

    Why cached: a page change must stay O(page) on a million pairs; :meth:`stale` tells in
    O(1) whether rows were added or dropped since, when the cached positions would point at
    the wrong rows.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.search = TextSearch(frame)
        self.orders = OrderIndex(frame)
        self.hist = histogram(frame)
        self._shape = _shape(frame)

    def stale(self, frame: pd.DataFrame) -> bool:
        """Rows added or dropped under the grid since this index was built."""
        return self._shape != _shape(frame)
