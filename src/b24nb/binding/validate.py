"""Check a pairs frame before anything is sent, and list every problem at once.

Why all at once: a frame that fails on its first bad row and then on its second, one run at
a time, teaches the analyst nothing and tempts a partial send. Here a bad frame raises one
:class:`~b24nb.errors.ValidationError` naming every offending row, and nothing is sent.
"""

from __future__ import annotations

import numbers
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from b24nb.errors import ValidationError
from b24nb.pairs import OWNER_TYPES

__all__ = ["OWNER_TYPES", "Item", "selected_items"]

_REQUIRED = ("deal_id", "order_id", "owner_type_id", "selected")


@dataclass(frozen=True)
class Item:
    """One selected, valid row: bind ``order_id`` to (``owner_id``, ``owner_type_id``)."""

    pair_id: Any
    order_id: int
    owner_id: int
    owner_type_id: int
    #: the owner the frame believes the order has today (``current_owner_*``), if known
    frame_owner: tuple[int, int] | None = None

    @property
    def target(self) -> tuple[int, int]:
        return (self.owner_id, self.owner_type_id)


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


#: ids are 64-bit signed integers on the portal (PHP ``int``) and in the journal (SQLite)
MAX_ID = 2**63 - 1


def _as_id(value: Any) -> int | None:
    """Return ``value`` as a positive int, or None if it is not one (bools are not ids).

    An id above :data:`MAX_ID` is none either: the portal would cast it to another number,
    and SQLite cannot store it (a raw ``OverflowError`` after the first request, before).
    """
    if isinstance(value, bool | np.bool_ | str | bytes) or _is_na(value):
        return None
    integral = isinstance(value, numbers.Integral)
    if not integral and not (isinstance(value, numbers.Real) and float(value).is_integer()):
        return None
    out = int(value)
    return out if 0 < out <= MAX_ID else None


def _is_selected(value: Any) -> bool | None:
    """True/False for a tick, None for something that is not a tick at all.

    ``np.bool_`` is NumPy's bool (named ``numpy.bool`` since NumPy 2, so no name check).
    """
    if _is_na(value):
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return None


def _why_not_id(value: Any) -> str:
    try:
        if not isinstance(value, bool | str | bytes) and int(value) > MAX_ID:
            return f"{value!r} is too large for an id (at most 2**63 - 1)"
    except (TypeError, ValueError, OverflowError):
        pass
    return f"{value!r} is not an integer > 0"


def _log_problems(pairs: pd.DataFrame) -> list[str]:
    """Log columns ``bind()`` writes into must hold what it writes: refuse them up front.

    Why: a ``bind_at`` holding text that is no time would fail only when the run writes its
    first outcome — as a raw pandas parse error, after requests were sent.
    """
    if "bind_at" not in pairs.columns or isinstance(pairs["bind_at"].dtype, pd.DatetimeTZDtype):
        return []
    col = pairs["bind_at"]
    parsed = pd.to_datetime(col, errors="coerce", utc=True, format="mixed")
    bad = col.notna() & parsed.isna()
    return [f"pair {pid!r}: bind_at {v!r} is not a time (the bind_at column is the log of "
            "bind(); clear it or hold UTC times)" for pid, v in col[bad].head(50).items()]


def _deal_ids(deals: pd.DataFrame) -> set[int]:
    values = deals["deal_id"] if "deal_id" in deals.columns else deals.index.to_series()
    return {v for v in (_as_id(x) for x in values) if v is not None}


def _invoice_ids(invoices: Any) -> dict[int, set[int]]:
    """Invoice ids per owner type (31, 5) from one frame or a list of ``load_invoices`` frames."""
    frames = [invoices] if isinstance(invoices, pd.DataFrame) else list(invoices)
    known: dict[int, set[int]] = defaultdict(set)
    for frame in frames:
        if not isinstance(frame, pd.DataFrame) or "owner_type_id" not in frame.columns:
            raise ValidationError("bind: invoices must be load_invoices() frames (with an "
                                  "owner_type_id column); nothing was sent")
        for tid, iid in zip(frame["owner_type_id"], frame.index, strict=True):
            t, i = _as_id(tid), _as_id(iid)
            if t is not None and i is not None:
                known[t].add(i)
    return known


def _frame_owner(row: pd.Series) -> tuple[int, int] | None:
    oid = _as_id(row.get("current_owner_id"))
    tid = _as_id(row.get("current_owner_type_id"))
    return None if oid is None or tid is None else (oid, tid)


def selected_items(
    pairs: pd.DataFrame, *, deals: pd.DataFrame | None = None, verb: str = "bind",
    invoices: Any = None,
) -> list[Item]:
    """Return the selected rows of ``pairs`` as :class:`Item` s, or raise for a bad frame.

    Parameters
    ----------
    pairs : pandas.DataFrame
        The pairs frame (contract in ``docs/contracts.md``).
    deals : pandas.DataFrame | None
        The deals frame; when given, a selected deal (owner type 2) must be in it.
    invoices : DataFrame or list of DataFrame, optional
        ``load_invoices`` frames; when given, a selected invoice (owner type 31 or 5) must
        be in a frame of its type.
    verb : str
        ``"bind"`` or ``"unbind"``, for the message.

    Raises
    ------
    b24nb.errors.ValidationError
        Listing every offending row; nothing has been sent.
    """
    _check_frame(pairs, verb)
    known = _Known(
        _deal_ids(deals) if deals is not None else None,
        _invoice_ids(invoices) if invoices is not None else None,
    )
    problems: list[str] = _log_problems(pairs)
    items: list[Item] = []
    for pair_id, row, dup in _ticked_rows(pairs):
        tick = _is_selected(row["selected"])
        if tick is None:
            problems.append(f"pair {pair_id!r}: selected is {row['selected']!r}, not True/False")
            continue
        if not tick:
            continue
        ids = (_as_id(row["order_id"]), _as_id(row["deal_id"]), _as_id(row["owner_type_id"]))
        bad = _row_problems(pair_id, row, dup, ids, known)
        if bad:
            problems.append(f"pair {pair_id!r}: " + "; ".join(bad))
            continue
        order_id, deal_id, type_id = ids
        items.append(
            Item(
                pair_id.item() if hasattr(pair_id, "item") else pair_id,
                int(order_id),  # type: ignore[arg-type]
                int(deal_id),  # type: ignore[arg-type]
                int(type_id),  # type: ignore[arg-type]
                _frame_owner(row),
            )
        )
    problems += _orders_selected_twice(items)
    if problems:
        raise ValidationError(
            f"{verb}: {len(problems)} problem(s) in the selected rows; nothing was sent",
            problems,
        )
    return items


@dataclass(frozen=True)
class _Known:
    """The deal ids and the invoice ids per owner type a selected row must be among, if given."""

    deals: set[int] | None
    invoices: dict[int, set[int]] | None


def _check_frame(pairs: Any, verb: str) -> None:
    """Refuse what is no pairs frame at all: not a DataFrame, or without a required column."""
    if not isinstance(pairs, pd.DataFrame):
        raise ValidationError(f"{verb}: pairs must be a pandas DataFrame, not {type(pairs)!r}")
    missing = [c for c in _REQUIRED if c not in pairs.columns]
    if missing:
        raise ValidationError(
            f"{verb}: the pairs frame lacks required columns; nothing was sent",
            [f"missing column {c!r}" for c in missing],
        )


def _ticked_rows(pairs: pd.DataFrame) -> Iterator[tuple[Any, pd.Series, bool]]:
    """``(pair_id, row, label repeated)`` of the rows that may be ticked, in frame order."""
    rows = pairs[
        list(_REQUIRED)
        + [c for c in ("current_owner_id", "current_owner_type_id") if c in pairs.columns]
    ]
    dup_labels = pairs.index.duplicated(keep=False)
    sel = pairs["selected"]
    if pd.api.types.is_bool_dtype(sel.dtype):
        # A true boolean column can hold nothing but ticks, so only ticked rows need a look:
        # on a million-row frame with a few hundred ticks this is the whole cost.
        keep = sel.fillna(False).to_numpy(dtype=bool)
        rows, dup_labels = rows[keep], dup_labels[keep]
    for (pair_id, row), dup in zip(rows.iterrows(), dup_labels, strict=True):
        yield pair_id, row, bool(dup)


def _row_problems(pair_id: Any, row: pd.Series, dup: bool,
                  ids: tuple[int | None, int | None, int | None], known: _Known) -> list[str]:
    """What is wrong with one ticked row, in the order the message lists it (empty: nothing).

    ``ids`` are the row's order, deal and owner type ids as :func:`_as_id` reads them.
    """
    bad: list[str] = []
    if _is_na(pair_id):
        bad.append("pair_id (the index) is missing: rows are logged and resumed by it")
    if dup:
        bad.append("pair_id appears more than once in the index")
    order_id, deal_id, type_id = ids
    if order_id is None:
        bad.append(f"order_id {_why_not_id(row['order_id'])}")
    if deal_id is None:
        bad.append(f"deal_id {_why_not_id(row['deal_id'])}")
    if type_id not in OWNER_TYPES:
        bad.append(f"owner_type_id {row['owner_type_id']!r} is not one of 2, 5, 31")
    elif deal_id is not None:
        bad += _unknown_owner(deal_id, type_id, known)
    return bad


def _unknown_owner(deal_id: int, type_id: int, known: _Known) -> list[str]:
    """The owner is not in the deals or invoices frames the caller gave (if they gave them)."""
    if known.deals is not None and type_id == 2 and deal_id not in known.deals:
        return [f"deal {deal_id} is not in the deals frame"]
    if (known.invoices is not None and type_id in (5, 31)
            and deal_id not in known.invoices.get(type_id, ())):
        return [f"invoice {deal_id} (owner type {type_id}) is not in the invoices frames"]
    return []


def _orders_selected_twice(items: list[Item]) -> list[str]:
    """One problem per row whose order another selected row names too (an order has one owner)."""
    by_order: dict[int, list[Any]] = defaultdict(list)
    for it in items:
        by_order[it.order_id].append(it.pair_id)
    problems = []
    for it in items:
        others = by_order[it.order_id]
        if len(others) > 1:
            problems.append(
                f"pair {it.pair_id!r}: order {it.order_id} is selected {len(others)} "
                f"times (pairs {', '.join(map(repr, others))}); an order has one owner"
            )
    return problems
