"""Suggest deal↔order pairs: explainable candidates, one order to one deal, fast.

The pipeline follows record-linkage practice (research ``notebook-ux.md`` Part C): block
(:mod:`._block`), score with additive per-field evidence (:mod:`._score`), assign one-to-one
greedily (:mod:`._assign`), and return the contract's ``pairs`` frame (:mod:`._frame`).
This package imports no network code; it works on the frames the loaders return.

Rules an analyst can rely on
----------------------------
* **Pre-ticked** (``selected``) only when ``score >= high``, the pair is not ``ambiguous``,
  not a ``rebind`` and not a shared deal. Nothing is ever bound without an explicit tick.
* **Dropped** below ``low``.
* **Ambiguous** when another free deal for the same order, or another order left without a
  deal that wanted the same deal, scores within ``margin``; the free competitors are listed as
  extra rows (also ambiguous) so the analyst can choose.
* **Already bound** to the suggested deal → not suggested again. Bound to another deal → the
  pair is a visible ``rebind``, **never pre-ticked** (moving an order is the analyst's call,
  journaled by ``bind(..., allow_rebind=True)``). A current owner that is a real deal keeps
  the order unless an alternative beats it by more than ``margin``.
* **Auto-created deals** (titled after an order, created minutes after it — research §10)
  are flagged in ``current_owner_auto`` and are never suggested as candidates; orders bound
  to them get the real deal as a rebind suggestion.
* **Split deliveries**: an order left without a deal may be suggested for a deal already
  matched to another order when client, e-mail or phone agree; never pre-ticked.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from b24nb.errors import ValidationError
from b24nb.match import _prep
from b24nb.match._assign import assign, runner_up
from b24nb.match._block import BIT, RULES, auto_created, block
from b24nb.match._frame import COLUMNS, build, empty_pairs
from b24nb.match._prep import NONE, check, prepare
from b24nb.match._score import FIELDS, WEIGHTS, evidence, reasons, total

__all__ = ["COLUMNS", "WEIGHTS", "empty_pairs", "suggest"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())


def _owners(bindings: pd.DataFrame | None, order_ids: np.ndarray, deal_ids: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per order row: current owner id, owner type (NONE when unbound), owner's deal row."""
    n = len(order_ids)
    owner = np.full(n, NONE, dtype=np.int64)
    otype = np.full(n, NONE, dtype=np.int64)
    if bindings is not None and len(bindings):
        check(bindings, "bindings", _prep.BINDING_REQUIRED, {}, unique=False)
        b = bindings[~bindings.index.duplicated(keep="last")]
        pos = pd.Index(b.index.astype("int64")).get_indexer(order_ids)
        hit = pos >= 0
        owner[hit] = pd.to_numeric(b["owner_id"]).astype("Int64").fillna(NONE).to_numpy(
            np.int64)[pos[hit]]
        otype[hit] = pd.to_numeric(b["owner_type_id"]).astype("Int64").fillna(NONE).to_numpy(
            np.int64)[pos[hit]]
    elif bindings is not None:
        check(bindings, "bindings", _prep.BINDING_REQUIRED, {}, unique=False)
    row = pd.Index(deal_ids).get_indexer(owner)
    row[(otype != 2) | (owner == NONE)] = NONE
    return owner, otype, row.astype(np.int64)


def _found_by(bits: np.ndarray) -> np.ndarray:
    out = np.full(len(bits), "", dtype=object)
    for rule in RULES:
        has = (bits & BIT[rule]) > 0
        sep = np.where(out != "", "+", "")
        out = np.where(has, out + sep + rule, out)
    return out


def suggest(deals: pd.DataFrame, orders: pd.DataFrame, bindings: pd.DataFrame | None = None,
            *, high: float = 0.65, low: float = 0.45, margin: float = 0.05,
            amount_tol: float = 0.01, date_window: tuple[float, float] = (-3, 30),
            id_window: tuple[float, float] = (-60, 365), auto_window_min: float = 60,
            alternatives: bool = True) -> pd.DataFrame:
    """Suggest which deal each order belongs to, with the evidence for it.

    Parameters
    ----------
    deals, orders, bindings : DataFrame
        As :func:`b24nb.load_deals`, :func:`b24nb.load_orders` and :func:`b24nb.load_bindings`
        return them (docs/contracts.md §Frames). Required: ``OPPORTUNITY``, ``CURRENCY_ID``,
        ``DATE_CREATE`` and ``price``, ``currency``, ``dateInsert``; every other column is
        used when present (``contact_*``, ``customer_*``, ``CONTACT_ID``, ``contact_id``, …).
    high, low : float
        Pre-tick at or above ``high``; drop below ``low``.
    margin : float
        A runner-up this close makes a pair ambiguous (never pre-ticked); a current owner
        keeps its order unless beaten by more than this.
    amount_tol, date_window : float, (float, float)
        The amount rule's relative tolerance and its window in days (order date minus deal
        date).
    id_window : (float, float)
        Days window for pairs found by client, e-mail, phone or number.
    auto_window_min : float
        Minutes after an order within which a deal titled after it counts as auto-created.
    alternatives : bool
        Add the competing free deals of ambiguous orders as extra (never pre-ticked) rows.

    Returns
    -------
    DataFrame
        The ``pairs`` frame indexed by ``pair_id``, sorted by score (highest first).

    Raises
    ------
    b24nb.errors.ValidationError
        Missing columns or wrong dtypes, all named in one message; bad options.

    Examples
    --------
    >>> from b24nb.match.demo_frames import demo_frames
    >>> deals, orders, bindings, truth = demo_frames(seed=1, n_deals=200, n_orders=240)
    >>> pairs = suggest(deals, orders, bindings)
    >>> bool((pairs[[c for c in pairs if c.startswith("ev_")]].sum(axis=1)
    ...       - pairs["score"]).abs().max() < 1e-9)
    True
    """
    if not 0 <= low <= high <= 1 or margin < 0 or amount_tol < 0:
        raise ValidationError("options out of range",
                              [f"need 0 <= low ({low}) <= high ({high}) <= 1, margin >= 0, "
                               f"amount_tol >= 0"])
    if date_window[0] > date_window[1] or id_window[0] > id_window[1]:
        raise ValidationError("windows must be (earliest, latest) in days",
                              [f"date_window={date_window}", f"id_window={id_window}"])
    check(deals, "deals", _prep.DEAL_REQUIRED, _prep.DEAL_OPTIONAL)
    check(orders, "orders", _prep.ORDER_REQUIRED, _prep.ORDER_OPTIONAL)
    if bindings is not None:
        check(bindings, "bindings", _prep.BINDING_REQUIRED, {}, unique=False)
    if not len(deals) or not len(orders):
        return empty_pairs()

    d, o = prepare(deals, orders)
    n_d, n_o = len(d.ids), len(o.ids)
    owner, otype, owner_row = _owners(bindings, o.ids, d.ids)
    auto = auto_created(d, o, auto_window_min)
    owner_auto = (owner_row != NONE) & auto[np.maximum(owner_row, 0)]
    current = np.where(owner_auto, NONE, owner_row)

    di, oi, bits = block(d, o, candidate=~auto, current=current, amount_tol=amount_tol,
                         date_window=date_window, id_window=id_window)
    ev = evidence(d, o, di, oi, bits)
    score = total(ev)
    logger.debug("blocked %d candidate pairs for %d deals × %d orders", len(di), n_d, n_o)

    # Orders whose real current owner holds: unless beaten by more than `margin`, they stay.
    is_cur = di == current[oi]
    cur_score = np.full(n_o, -np.inf)
    cur_score[oi[is_cur]] = score[is_cur]
    alt_best = np.full(n_o, -np.inf)
    np.maximum.at(alt_best, oi[~is_cur], score[~is_cur])
    settled = (current != NONE) & ((alt_best <= cur_score + margin) | (alt_best < low))
    keep = np.flatnonzero((score >= low) & ~is_cur & ~settled[oi])
    di, oi, bits, score = di[keep], oi[keep], bits[keep], score[keep]
    ev = {k: v[keep] for k, v in ev.items()}
    eligible = np.ones(len(keep), dtype=bool)
    identity = (ev["ev_client"] > 0) | (ev["ev_email"] > 0) | (ev["ev_phone"] > 0)
    kept = current[settled]
    res = assign(di, oi, score, eligible, identity, (d.ids, o.ids), kept[kept != NONE])

    ro, rd = runner_up(di, oi, score, eligible, res.chosen, n_d, n_o)
    s = score[res.chosen]
    amb_o = s - ro <= margin + 1e-9
    ambiguous = amb_o | (s - rd <= margin + 1e-9)
    rows = [res.chosen, res.shared]
    kinds = [np.zeros(len(res.chosen), np.int8), np.ones(len(res.shared), np.int8)]
    flags = [ambiguous, np.zeros(len(res.shared), bool)]
    if alternatives and amb_o.any():
        floor = np.full(n_o, np.inf)
        floor[oi[res.chosen[amb_o]]] = s[amb_o] - margin - 1e-9
        taken = np.zeros(n_d, bool)
        taken[di[res.chosen]] = True
        alt = np.flatnonzero(~taken[di] & (score >= floor[oi]))
        rows.append(alt)
        kinds.append(np.full(len(alt), 2, np.int8))
        flags.append(np.ones(len(alt), bool))
    pick = np.concatenate(rows)
    kind = np.concatenate(kinds)
    amb = np.concatenate(flags)
    order = np.lexsort((d.ids[di[pick]], o.ids[oi[pick]], -score[pick]))
    pick, kind, amb = pick[order], kind[order], amb[order]
    return _assemble(deals, orders, d, o, di[pick], oi[pick], bits[pick], score[pick],
                     {k: v[pick] for k, v in ev.items()}, kind, amb,
                     (owner, otype, owner_auto), high)


def _assemble(deals: pd.DataFrame, orders: pd.DataFrame, d: Any, o: Any, di: np.ndarray,
              oi: np.ndarray, bits: np.ndarray, score: np.ndarray, ev: dict[str, np.ndarray],
              kind: np.ndarray, amb: np.ndarray, owners: tuple[np.ndarray, ...],
              high: float) -> pd.DataFrame:
    """The output rows, display columns and decision flags."""
    owner, otype, owner_auto = owners
    cur_id, cur_type = owner[oi], otype[oi]
    bound = cur_id != NONE
    rebind = bound & ((cur_type != 2) | (cur_id != d.ids[di]))
    selected = (score >= high) & ~amb & ~rebind & (kind == 0)
    ev_frame = pd.DataFrame({f"ev_{k}": ev[f"ev_{k}"] for k in FIELDS})
    why = reasons(ev_frame, d.amount[di], o.amount[oi], ev["lag"])
    extra = np.where(kind == 1, " · deal shared with another order", "")
    extra = np.where(rebind, np.char.add(extra.astype(str), np.char.add(
        np.where(owner_auto[oi], " · rebind from auto-created deal ", " · rebind from "),
        cur_id.astype(str))), extra)
    why = why + extra.astype(object)

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
        "deal_id": d.ids[di], "order_id": o.ids[oi], "owner_type_id": np.full(len(di), 2),
        "score": score, "reasons": why, "found_by": _found_by(bits),
        **{f"ev_{k}": ev[f"ev_{k}"] for k in FIELDS},
        "deal_title": col(deals, "TITLE", di), "deal_amount": d.amount[di],
        "deal_date": col(deals, "DATE_CREATE", di), "order_number": col(orders, "accountNumber",
                                                                         oi),
        "order_amount": o.amount[oi], "order_date": col(orders, "dateInsert", oi),
        "currency": col(orders, "currency", oi), "customer": customer,
        "current_owner_id": pd.Series(cur_id, dtype="Int64").mask(~bound),
        "current_owner_type_id": pd.Series(cur_type, dtype="Int64").mask(~bound),
        "current_owner_auto": owner_auto[oi], "rebind": rebind, "ambiguous": amb,
        "selected": selected,
    })
