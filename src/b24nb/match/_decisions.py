"""The analyst's decisions as known truth for the candidates (docs/contracts.md, decisions).

Why: an explicit "reject" must never come back as a suggestion, and an accepted or bound pair
is a labelled match — EM learns m from it instead of guessing (issue 10, point 5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from b24nb.errors import ValidationError
from b24nb.pairs import DONE

__all__ = ["known_pairs"]

_NEED = ("order_id", "deal_id", "decision")
#: bind() results that count as the analyst's acceptance: the order has that owner now
ACCEPTED_STATUSES = tuple(sorted(DONE))


def _table(decisions: pd.DataFrame) -> pd.DataFrame:
    """(order_id, owner_key, label) — newest row per pair; label 1 accept, 0 reject."""
    if not isinstance(decisions, pd.DataFrame):
        raise ValidationError(f"decisions must be a DataFrame, got {type(decisions).__name__}")
    frame = decisions.reset_index(drop="order_id" in decisions.columns)
    missing = [c for c in _NEED if c not in frame.columns]
    if missing and not {"order_id", "deal_id", "bind_status"} <= set(frame.columns):
        raise ValidationError("decisions frame is not usable", [f"missing column {c!r}"
                                                                  for c in missing])
    decision = (frame["decision"].astype("string") if "decision" in frame.columns
                else pd.Series(pd.NA, index=frame.index, dtype="string"))
    if "bind_status" in frame.columns:  # a pairs frame after bind(): its results count too
        bound = frame["bind_status"].astype("string").isin(ACCEPTED_STATUSES).fillna(False)
        decision = decision.mask(bound.to_numpy(bool), "accept")
    bad = ~decision.isna() & ~decision.isin(("reject", "unsure", "accept"))
    if bad.any():
        raise ValidationError("decisions frame is not usable",
                              [f"unknown decision {v!r}" for v in decision[bad].unique()[:5]])
    if "decided_at" in frame.columns:
        frame = frame.assign(_at=pd.to_datetime(frame["decided_at"], utc=True))
        order = np.argsort(frame["_at"].to_numpy(), kind="stable")
        frame, decision = frame.iloc[order], decision.iloc[order]
    types = (pd.to_numeric(frame["owner_type_id"]).astype("Int64").fillna(2)
             if "owner_type_id" in frame.columns else pd.Series(2, index=frame.index))
    out = pd.DataFrame({
        "order_id": pd.to_numeric(frame["order_id"]).astype("Int64").to_numpy(),
        "key": (types.to_numpy(np.int64) * np.int64(1 << 40)
                + pd.to_numeric(frame["deal_id"]).astype("Int64").fillna(-1).to_numpy(np.int64)),
        "label": decision.map({"accept": 1.0, "reject": 0.0}).astype("float64").to_numpy(),
    })
    out = out[~out["order_id"].isna()]
    # the newest decision per pair wins (rows are in time order when decided_at is given)
    return out.drop_duplicates(["order_id", "key"], keep="last")


def known_pairs(decisions: pd.DataFrame | None, owner_key: np.ndarray, order_ids: np.ndarray
                ) -> tuple[np.ndarray | None, np.ndarray]:
    """(labels for EM, rejected) per candidate.

    Labels: 1.0 accepted, 0.0 rejected — and 0.0 for the other candidates of an accepted
    order, since an order has one owner — NaN not decided; None without any decision.
    ``rejected`` marks the explicitly rejected pairs only: those are never suggested.
    """
    none = np.zeros(len(order_ids), dtype=bool)
    if decisions is None:
        return None, none
    table = _table(decisions)
    table = table[~table["label"].isna()]
    if not len(table):
        return None, none
    cand = pd.MultiIndex.from_arrays([order_ids, owner_key])
    have = pd.MultiIndex.from_arrays([table["order_id"].to_numpy(np.int64),
                                      table["key"].to_numpy(np.int64)])
    pos = have.get_indexer(cand)
    out = np.full(len(order_ids), np.nan)
    hit = pos >= 0
    out[hit] = table["label"].to_numpy()[pos[hit]]
    rejected = out == 0
    accepted_orders = np.unique(order_ids[out == 1])
    out[np.isnan(out) & np.isin(order_ids, accepted_orders)] = 0.0
    return out, rejected
