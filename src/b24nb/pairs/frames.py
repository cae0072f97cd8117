"""Typed pairs frames: the empty one, one built from per-row arrays, the ``pair_id`` index.

Why beside the contract: a frame made by ``suggest`` and one made by a test helper are built
by the same code, so they cannot disagree on a dtype.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from b24nb.pairs.contract import COLUMNS, DECIDED_COLUMNS, LOG_COLUMNS, UTC

__all__ = ["empty_pairs", "pair_index", "typed_pairs"]


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
    return s.dt.tz_convert("UTC").astype(UTC)


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
        if dtype == UTC:
            data[col] = _utc(pd.Series(v))
        elif dtype in ("string", "Int64", "boolean"):
            data[col] = pd.array(v, dtype=dtype)
        else:
            data[col] = np.asarray(v, dtype=dtype)
    frame = pd.DataFrame({c: pd.Series(v).reset_index(drop=True) if isinstance(v, pd.Series)
                          else v for c, v in data.items()})
    frame.index = pair_index(n)
    return frame
