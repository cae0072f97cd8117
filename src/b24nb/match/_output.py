"""The output rows: identity, evidence, levels, display columns and decision flags."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b24nb.match._block import BIT, RULES
from b24nb.match._frame import EV_COLUMNS, LVL_COLUMNS, build
from b24nb.match._prep import NONE
from b24nb.match._reasons import reasons

__all__ = ["assemble"]


def found_by(bits: np.ndarray) -> np.ndarray:
    """The blocking rules that found each pair, ``+``-joined."""
    out = np.full(len(bits), "", dtype=object)
    for rule in RULES:
        has = (bits & BIT[rule]) > 0
        sep = np.where(out != "", "+", "")
        out = np.where(has, out + sep + rule, out)
    return out


def assemble(*, deals: pd.DataFrame, orders: pd.DataFrame, d: Any, o: Any, di: np.ndarray,
             oi: np.ndarray, bits: np.ndarray, score: np.ndarray, ev: dict[str, np.ndarray],
             lv: dict[str, np.ndarray], lag: np.ndarray, kind: np.ndarray, amb: np.ndarray,
             owners: tuple[np.ndarray, ...], high: float) -> pd.DataFrame:
    """Build the pairs frame; ``deals`` is the owners frame (deals and invoices, by row)."""
    owner, otype, owner_auto = owners
    cur_id, cur_type = owner[oi], otype[oi]
    bound = cur_id != NONE
    rebind = bound & ((cur_type != d.kind[di]) | (cur_id != d.ids[di]))
    selected = (score >= high) & ~amb & ~rebind & (kind == 0) & ~owner_auto[oi]
    why = reasons(lv, lag, d.amount[di], o.amount[oi], ev)
    extra = np.where(kind == 1, " · deal shared with another order", "")
    extra = np.where(rebind, np.char.add(extra.astype(str), np.char.add(
        np.where(owner_auto[oi], " · rebind from auto-created deal ", " · rebind from "),
        cur_id.astype(str))), extra)
    why = why + extra.astype(object)
    weight = np.zeros(len(di))
    for c in EV_COLUMNS:
        weight = weight + ev[c]

    def col(frame: pd.DataFrame, name: str, rows: np.ndarray) -> pd.Series | np.ndarray:
        if name not in frame.columns:
            return np.full(len(rows), None, dtype=object)
        return frame[name].iloc[rows].reset_index(drop=True)

    customer = col(orders, "customer_name", oi)
    if isinstance(customer, pd.Series):
        for fallback in ("customer_email", "customer_phone"):
            if fallback in orders.columns:
                customer = customer.fillna(col(orders, fallback, oi))
    return build({
        "deal_id": d.ids[di], "order_id": o.ids[oi], "owner_type_id": d.kind[di],
        "score": score, "weight": weight, "reasons": why, "found_by": found_by(bits),
        **{c: ev[c] for c in EV_COLUMNS},
        **{c: lv[c[4:]] for c in LVL_COLUMNS},
        "deal_title": col(deals, "TITLE", di), "deal_amount": d.amount[di],
        "deal_date": col(deals, "DATE_CREATE", di),
        "order_number": col(orders, "accountNumber", oi),
        "order_amount": o.amount[oi], "order_date": col(orders, "dateInsert", oi),
        "currency": col(orders, "currency", oi), "customer": customer,
        "current_owner_id": pd.Series(cur_id, dtype="Int64").mask(~bound),
        "current_owner_type_id": pd.Series(cur_type, dtype="Int64").mask(~bound),
        "current_owner_auto": owner_auto[oi], "rebind": rebind, "ambiguous": amb,
        "selected": selected,
    })
