"""The output rows: identity, evidence, levels, display columns and decision flags."""

from __future__ import annotations

import numpy as np
import pandas as pd

from b24nb.match._block import BIT, RULES
from b24nb.match._candidates import Candidates
from b24nb.match._inputs import Inputs
from b24nb.match._prep import NONE
from b24nb.match._reasons import reasons
from b24nb.pairs import EV_COLUMNS, LVL_COLUMNS, typed_pairs

__all__ = ["assemble"]


def found_by(bits: np.ndarray) -> np.ndarray:
    """The blocking rules that found each pair, ``+``-joined."""
    out = np.full(len(bits), "", dtype=object)
    for rule in RULES:
        has = (bits & BIT[rule]) > 0
        sep = np.where(out != "", "+", "")
        out = np.where(has, out + sep + rule, out)
    return out


def _column(frame: pd.DataFrame, name: str, rows: np.ndarray) -> pd.Series | np.ndarray:
    """``frame[name]`` at ``rows``; all missing when the frame has no such column."""
    if name not in frame.columns:
        return np.full(len(rows), None, dtype=object)
    return frame[name].iloc[rows].reset_index(drop=True)


def assemble(inputs: Inputs, rows: Candidates, kind: np.ndarray, amb: np.ndarray, *,
             high: float) -> pd.DataFrame:
    """Build the pairs frame from the chosen ``rows`` (in final order, scored and weighed).

    ``kind`` per row: 0 chosen one-to-one, 1 a deal shared with another order, 2 a competing
    alternative; ``amb`` marks the ambiguous ones. Only kind 0 may be pre-ticked.
    """
    d, o, di, oi = inputs.d, inputs.o, rows.di, rows.oi
    score, ev, lv = rows.scores(), rows.evidence(), rows.lv
    owner_auto = inputs.owner_auto
    cur_id, cur_type = inputs.owner[oi], inputs.otype[oi]
    bound = cur_id != NONE
    rebind = bound & ((cur_type != d.kind[di]) | (cur_id != d.ids[di]))
    selected = (score >= high) & ~amb & ~rebind & (kind == 0) & ~owner_auto[oi]
    why = reasons(lv, rows.lag, d.amount[di], o.amount[oi], ev)
    extra = np.where(kind == 1, " · deal shared with another order", "")
    extra = np.where(rebind, np.char.add(extra.astype(str), np.char.add(
        np.where(owner_auto[oi], " · rebind from auto-created deal ", " · rebind from "),
        cur_id.astype(str))), extra)
    why = why + extra.astype(object)
    weight = np.zeros(len(di))
    for c in EV_COLUMNS:
        weight = weight + ev[c]
    owners, orders = inputs.owners, inputs.orders
    customer = _column(orders, "customer_name", oi)
    if isinstance(customer, pd.Series):
        for fallback in ("customer_email", "customer_phone"):
            if fallback in orders.columns:
                customer = customer.fillna(_column(orders, fallback, oi))
    return typed_pairs({
        "deal_id": d.ids[di], "order_id": o.ids[oi], "owner_type_id": d.kind[di],
        "score": score, "weight": weight, "reasons": why, "found_by": found_by(rows.bits),
        **{c: ev[c] for c in EV_COLUMNS},
        **{c: lv[c[4:]] for c in LVL_COLUMNS},
        "deal_title": _column(owners, "TITLE", di), "deal_amount": d.amount[di],
        "deal_date": _column(owners, "DATE_CREATE", di),
        "order_number": _column(orders, "accountNumber", oi),
        "order_amount": o.amount[oi], "order_date": _column(orders, "dateInsert", oi),
        "currency": _column(orders, "currency", oi), "customer": customer,
        "current_owner_id": pd.Series(cur_id, dtype="Int64").mask(~bound),
        "current_owner_type_id": pd.Series(cur_type, dtype="Int64").mask(~bound),
        "current_owner_auto": owner_auto[oi], "rebind": rebind, "ambiguous": amb,
        "selected": selected,
    })
