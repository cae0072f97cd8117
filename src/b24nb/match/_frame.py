"""Building the ``pairs`` frame of :mod:`b24nb.pairs` (its columns and dtypes): typed, empty.

The decision columns ``decision``/``decided_at`` belong to the review (issue 15); they are
added here empty so every pairs frame has them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from b24nb.pairs import COLUMNS, EV_COLUMNS, LVL_COLUMNS

__all__ = ["COLUMNS", "EV_COLUMNS", "LVL_COLUMNS", "build", "empty_pairs"]

_UTC = "datetime64[ns, UTC]"


def _index(n: int) -> pd.Index:
    return pd.Index(pd.array(np.arange(n), dtype="Int64"), name="pair_id")


def empty_pairs() -> pd.DataFrame:
    """A pairs frame with no rows and every column in its contract dtype."""
    frame = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in COLUMNS.items()})
    frame.index = _index(0)
    return frame


def _utc(values: pd.Series) -> pd.Series:
    s = pd.to_datetime(values)
    if getattr(s.dt, "tz", None) is None:
        s = s.dt.tz_localize("UTC")
    return s.dt.tz_convert("UTC").astype(_UTC)


def build(cols: dict[str, object]) -> pd.DataFrame:
    """Assemble the frame from per-row arrays (already in final row order) and cast dtypes."""
    n = len(cols["deal_id"])  # type: ignore[arg-type]
    data: dict[str, pd.Series | pd.api.extensions.ExtensionArray | np.ndarray] = {}
    for col, dtype in COLUMNS.items():
        if col.startswith("bind_") or col in ("decision", "decided_at"):
            if dtype == "object":
                data[col] = np.full(n, None, dtype=object)
            else:
                data[col] = pd.Series(pd.NA if dtype == "string" else pd.NaT, index=range(n),
                                      dtype=dtype)
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
    frame.index = _index(n)
    return frame
