"""Write outcomes into the pairs frame, row by row, while a run is under way.

Why in the frame and not a separate result: the frame is the one place the analyst (and the
review widget, through ``on_update``) looks; ``bind_status`` and its siblings are the log
columns of the pairs contract, and the current owner columns follow the portal so that the
frame, the portal and the journal agree at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from b24nb.pairs.contract import LOG_COLUMNS, owner_name

__all__ = ["FrameLog", "Outcome", "fmt"]

_DTYPES: dict[str, Any] = {c: object if t == "object" else t for c, t in LOG_COLUMNS.items()}


def _same(a: Any, b: Any) -> bool:
    """Equal ids, NA never equal to anything."""
    try:
        return a is not None and b is not None and not pd.isna(a) and int(a) == int(b)
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str | None:
    """A cell as text, NA as None (``NA == "pending"`` would raise, not say False)."""
    try:
        return None if pd.isna(value) else str(value)
    except (TypeError, ValueError):
        return str(value)


def fmt(owner: tuple[int, int] | None) -> str:
    """``deal 12`` / ``smart invoice 7`` / ``unbound`` for messages."""
    if owner is None:
        return "unbound"
    return f"{owner_name(owner[1])} {owner[0]}"


@dataclass(frozen=True)
class Outcome:
    """What happened to one row: its ``bind_*`` values (``at`` defaults to now)."""

    pair_id: Any
    status: str
    error: str | None = None
    message: str | None = None
    response: Any = None
    at: pd.Timestamp | None = None


class FrameLog:
    """Typed access to the ``bind_*`` (and current owner) columns of one pairs frame."""

    def __init__(self, pairs: pd.DataFrame) -> None:
        self.pairs = pairs
        for col, dtype in _DTYPES.items():
            if col not in pairs.columns:
                empty = None if dtype is object else pd.NA
                pairs[col] = pd.Series(empty, index=pairs.index, dtype=dtype)
            elif str(pairs[col].dtype) != str(pd.Series([], dtype=dtype).dtype):
                if col == "bind_at":  # text or naive times: read as UTC (validated before)
                    pairs[col] = pd.to_datetime(pairs[col], utc=True, format="mixed").astype(
                        dtype)
                else:
                    pairs[col] = pairs[col].astype(dtype)

    def write(self, outcomes: Sequence[Outcome]) -> list[Any]:
        """Write outcomes into their rows; return the pair ids touched."""
        if not outcomes:
            return []
        now = pd.Timestamp.now(tz="UTC")
        idx = [o.pair_id for o in outcomes]
        p = self.pairs
        p.loc[idx, "bind_status"] = pd.array([o.status for o in outcomes], dtype="string")
        p.loc[idx, "bind_error"] = pd.array([o.error for o in outcomes], dtype="string")
        p.loc[idx, "bind_message"] = pd.array([o.message for o in outcomes], dtype="string")
        p.loc[idx, "bind_at"] = pd.DatetimeIndex(
            [o.at if o.at is not None else now for o in outcomes]
        ).tz_convert("UTC")
        col = p.columns.get_loc("bind_response")
        rows = p.index.get_indexer(idx)
        for row, o in zip(rows, outcomes, strict=True):
            p.iat[row, col] = o.response
        return idx

    def set_owners(self, owners: Iterable[tuple[Any, tuple[int, int] | None]]) -> None:
        """Set ``current_owner_id``/``_type_id`` (and ``rebind``) from the portal's answer.

        ``owners`` holds ``(pair_id, owner now)`` of rows acted on. Every row of the same
        order gets the new owner, not only the row acted on: the other candidates of an order
        that was just bound (or unbound) would otherwise show a stale owner and rebind flag.
        """
        p = self.pairs
        if "current_owner_id" not in p.columns or "current_owner_type_id" not in p.columns:
            return
        owners = list(owners)
        if not owners:
            return
        col = p.columns.get_loc("order_id")
        rows = p.index.get_indexer([pid for pid, _ in owners])
        self.set_order_owners(
            {int(p.iat[r, col]): o for r, (_, o) in zip(rows, owners, strict=True)}
        )

    def set_order_owners(self, by_order: Mapping[int, tuple[int, int] | None]) -> None:
        """Set the current owner of every row of each order in ``by_order``."""
        p = self.pairs
        if not by_order or "current_owner_id" not in p.columns:
            return
        mask = p["order_id"].isin(list(by_order)).to_numpy(dtype=bool, na_value=False)
        if not mask.any():
            return
        now = [by_order[int(o)] for o in p["order_id"].to_numpy()[mask]]
        p.loc[mask, "current_owner_id"] = pd.array([o[0] if o else None for o in now], "Int64")
        p.loc[mask, "current_owner_type_id"] = pd.array(
            [o[1] if o else None for o in now], dtype="Int64"
        )
        if "rebind" in p.columns and "deal_id" in p.columns and "owner_type_id" in p.columns:
            deal = p["deal_id"].to_numpy()[mask]
            kind = p["owner_type_id"].to_numpy()[mask]
            p.loc[mask, "rebind"] = pd.array(
                [
                    o is not None and not (_same(d, o[0]) and _same(k, o[1]))
                    for o, d, k in zip(now, deal, kind, strict=True)
                ],
                dtype="boolean",
            )

    def write_if_pending(self, settled: Sequence[tuple[Any, Outcome]]) -> list[Any]:
        """Write the outcomes of settled orphan sends into the rows still showing them pending.

        ``settled`` holds ``(send row, outcome)``. A row takes the outcome only when it is the
        same pair (``pair_id``, order and owner) and still reads ``pending``: another frame
        over the same journal may reuse pair ids for other pairs.
        """
        p = self.pairs
        keep = []
        for send, out in settled:
            pid = out.pair_id
            if pid is None or pid not in p.index:
                continue
            row = p.loc[pid]
            if isinstance(row, pd.DataFrame):  # a duplicated label: not ours to guess
                continue
            if (
                _text(row.get("bind_status")) == "pending"
                and _same(row.get("order_id"), send["order_id"])
                and (send["action"] != "bind" or _same(row.get("deal_id"), send["owner_id"]))
            ):
                keep.append(out)
        return self.write(keep)

    def statuses(self, pair_ids: Iterable[Any]) -> pd.Series:
        return self.pairs.loc[list(pair_ids), "bind_status"]
