"""Write outcomes into the pairs frame, row by row, while a run is under way.

Why in the frame and not a separate result: the frame is the one place the analyst (and the
review widget, through ``on_update``) looks; ``bind_status`` and its siblings are the log
columns of the pairs contract, and the current owner columns follow the portal so that the
frame, the portal and the journal agree at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["STATUSES", "FrameLog", "Outcome", "fmt"]

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

_DTYPES: dict[str, Any] = {
    "bind_status": "string",
    "bind_error": "string",
    "bind_message": "string",
    "bind_response": object,
    "bind_at": "datetime64[ns, UTC]",
}


def fmt(owner: tuple[int, int] | None) -> str:
    """``deal 12`` / ``smart invoice 7`` / ``unbound`` for messages."""
    if owner is None:
        return "unbound"
    kind = {2: "deal", 5: "invoice", 31: "smart invoice"}.get(owner[1], f"type {owner[1]}")
    return f"{kind} {owner[0]}"


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
        """Set ``current_owner_id``/``_type_id`` (and ``rebind``) of rows from the portal."""
        p = self.pairs
        if "current_owner_id" not in p.columns or "current_owner_type_id" not in p.columns:
            return
        owners = list(owners)
        if not owners:
            return
        idx = [pid for pid, _ in owners]
        p.loc[idx, "current_owner_id"] = pd.array(
            [o[0] if o else None for _, o in owners], dtype="Int64"
        )
        p.loc[idx, "current_owner_type_id"] = pd.array(
            [o[1] if o else None for _, o in owners], dtype="Int64"
        )
        if "rebind" in p.columns:
            target = list(zip(p.loc[idx, "deal_id"], p.loc[idx, "owner_type_id"], strict=True))
            p.loc[idx, "rebind"] = pd.array(
                [
                    o is not None and tuple(int(x) for x in t) != o
                    for (_, o), t in zip(owners, target, strict=True)
                ],
                dtype="boolean",
            )

    def statuses(self, pair_ids: Iterable[Any]) -> pd.Series:
        return self.pairs.loc[list(pair_ids), "bind_status"]
