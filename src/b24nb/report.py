"""Results to take away: the log export, a run summary, orders left without a candidate.

Why its own module: the grid's Export button and the notebook's export cell must write the
same file from the same frame, with every ``bind_*`` and decision column, so the rule of what
goes in lives once, here. Nothing here talks to a portal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from b24nb.errors import ValidationError

__all__ = ["LOG_COLUMNS", "export_log", "log_frame", "run_summary", "unmatched_orders"]

#: the columns of an exported log, in this order (those the frame lacks are left out)
LOG_COLUMNS: tuple[str, ...] = (
    "deal_id", "owner_type_id", "order_id", "order_number", "deal_title", "customer",
    "score", "reasons", "deal_amount", "order_amount", "currency", "rebind",
    "current_owner_id", "current_owner_type_id", "selected", "decision", "decided_at",
    "bind_status", "bind_error", "bind_message", "bind_response", "bind_at",
)

#: columns every export has, whether or not the frame has them yet
_ALWAYS = ("decision", "decided_at", "bind_status", "bind_error", "bind_message",
           "bind_response", "bind_at")


def _empty(column: str, n: int) -> object:
    if column.endswith("_at"):
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]").to_numpy()
    if column == "bind_response":
        return [None] * n
    return pd.array([pd.NA] * n, dtype="string")


#: statuses that bound an order to the pair's owner
_BOUND = ("bound", "rebound", "already_bound")


def log_frame(pairs: pd.DataFrame, *, only_touched: bool = True) -> pd.DataFrame:
    """The log as it stands: every pair sent, dry-run or decided on (or all, when asked).

    Parameters
    ----------
    pairs
        The pairs frame, read at this moment (a grid writes into it in place).
    only_touched
        Keep only rows with a ``bind_status`` or a ``decision``; ``False`` keeps every row.
    """
    missing = [c for c in _ALWAYS if c not in pairs.columns]
    if missing:  # a log always has every bind_* and decision column, empty until used
        pairs = pairs.assign(**{c: _empty(c, len(pairs)) for c in missing})
    columns = [c for c in LOG_COLUMNS if c in pairs.columns]
    columns += [c for c in pairs.columns
                if c.startswith(("bind_", "decision")) and c not in columns]
    frame = pairs[columns]
    if only_touched:
        touched = pd.Series(False, index=pairs.index)
        for column in ("bind_status", "decision"):
            if column in pairs.columns:
                touched |= pairs[column].notna()
        frame = frame[touched.to_numpy(dtype=bool)]
    return frame


def _excel_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel has no time zones and no nested objects: UTC times without tz, objects as text."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
        elif out[column].dtype == object:
            out[column] = out[column].map(lambda v: None if v is None else str(v))
    return out


def export_log(pairs: pd.DataFrame, path: str | os.PathLike[str], *,
               only_touched: bool = True) -> tuple[Path, int]:
    """Write the log to ``path``: ``.csv`` or ``.xlsx`` (Excel needs the ``excel`` extra).

    Returns ``(path, rows written)``. The frame is read when called, so a grid's runs up to
    this moment are in the file.

    Raises
    ------
    ValidationError
        For a file name that is neither ``.csv`` nor ``.xlsx``, or an Excel export without
        openpyxl installed (``pip install 'b24nb[excel]'``).
    """
    target = Path(path).expanduser()
    frame = log_frame(pairs, only_touched=only_touched)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(target)
    elif suffix == ".xlsx":
        try:
            import openpyxl  # noqa: F401 - only to say clearly what is missing
        except ImportError:
            raise ValidationError("an Excel export needs openpyxl: pip install 'b24nb[excel]'"
                                  ) from None
        _excel_ready(frame).to_excel(target, sheet_name="log", engine="openpyxl")
    else:
        raise ValidationError(f"export to .csv or .xlsx, not {target.name!r}")
    return target, len(frame)


def run_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Counts and amounts by outcome: what was bound, failed, held back, left unsent.

    Returns a frame indexed by ``outcome`` with ``pairs``, ``orders`` and ``order_amount``
    (the sum of the orders' amounts, per currency when there are several).
    """
    status = (pairs["bind_status"].astype("string") if "bind_status" in pairs.columns
              else pd.Series(pd.NA, index=pairs.index, dtype="string"))
    outcome = status.fillna("not sent")
    if "decision" in pairs.columns:
        held = outcome.eq("not sent") & pairs["decision"].notna()
        outcome = outcome.mask(held, "not sent, " + pairs["decision"].astype("string"))
    frame = pd.DataFrame({
        "outcome": outcome.to_numpy(),
        "order_id": pairs["order_id"].to_numpy(),
        "order_amount": (pairs["order_amount"].to_numpy(dtype=float, na_value=0.0)
                         if "order_amount" in pairs.columns else 0.0),
        "currency": (pairs["currency"].astype("string").fillna("").to_numpy()
                     if "currency" in pairs.columns else ""),
    })
    keys = ["outcome"] if frame["currency"].nunique() <= 1 else ["outcome", "currency"]
    out = frame.groupby(keys, sort=False).agg(
        pairs=("order_id", "size"), orders=("order_id", "nunique"),
        order_amount=("order_amount", "sum"))
    order = {s: i for i, s in enumerate((*_BOUND, "dry_run", "pending", "failed",
                                         "needs_rebind", "skipped", "unbound"))}
    rank = [order.get(k if isinstance(k, str) else k[0], 99) for k in out.index]
    return out.iloc[sorted(range(len(out)), key=lambda i: (rank[i], str(out.index[i])))]


def unmatched_orders(orders: pd.DataFrame, pairs: pd.DataFrame, *,
                     bindings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Orders that got no candidate at all (and, with ``bindings``, have no owner today).

    Why: these are what nobody reviews in the grid; an analyst exports them to chase by hand.
    The result is ``orders``' own rows (index ``order_id``), ready for ``to_csv``/``to_excel``.
    """
    seen = pd.Index(pairs["order_id"].dropna().astype("int64").unique())
    keep = ~orders.index.isin(seen)
    if bindings is not None and len(bindings):
        keep &= ~orders.index.isin(bindings.index)
    return orders[keep]


def describe(summary: Any) -> str:
    """One line of a run summary frame: ``bound 12 (34 567.00) · failed 1 · …``."""
    parts = []
    for key, row in summary.iterrows():
        label = key if isinstance(key, str) else " ".join(str(k) for k in key)
        amount = f" ({row['order_amount']:,.2f})".replace(",", " ") if row["order_amount"] else ""
        parts.append(f"{label} {int(row['pairs']):,}{amount}")
    return " · ".join(parts)
