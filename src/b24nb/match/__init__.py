"""Suggest deal↔order pairs: explainable candidates, one order to one owner, fast.

The pipeline follows record-linkage practice (research ``notebook-ux.md`` Part C): block
(:mod:`._block`), compare into agreement levels (:mod:`._levels`), weigh them with a
Fellegi–Sunter model fitted to this portal's own data on every call (:mod:`._model`), assign
one-to-one greedily (:mod:`._assign`), and return the contract's ``pairs`` frame
(:mod:`._output`, :mod:`._frame`). This package imports no network code; it works on the
frames the loaders return.

Rules an analyst can rely on
----------------------------
* ``score`` is the match probability; ``ev_*`` are its log2-odds terms (``ev_prior``, one per
  comparison, ``ev_rivals``) and add up to ``weight``; ``lvl_*`` are the agreement levels and
  ``reasons`` says them in words.
* **Pre-ticked** (``selected``) only when ``score >= high``, the pair is not ``ambiguous``,
  not a ``rebind`` (which includes orders on auto-created owners) and not a shared deal.
  Nothing is ever bound without an explicit tick.
* **Dropped** below ``low``; a pair the analyst rejected (``decisions=``) is never suggested.
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

import numpy as np
import pandas as pd

from b24nb.errors import ValidationError
from b24nb.match import _prep
from b24nb.match._assign import assign, runner_up
from b24nb.match._block import auto_created, block
from b24nb.match._decisions import known_pairs
from b24nb.match._frame import COLUMNS, empty_pairs
from b24nb.match._levels import LEVELS, levels, tf_keys
from b24nb.match._model import Model, fit, weigh
from b24nb.match._output import assemble
from b24nb.match._owners import combine
from b24nb.match._prep import NONE, check, prepare

__all__ = ["COLUMNS", "LEVELS", "Model", "empty_pairs", "suggest"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())


def _owners(bindings: pd.DataFrame | None, order_ids: np.ndarray, owner_key: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per order row: current owner id, owner type (NONE when unbound), owner's row."""
    n = len(order_ids)
    owner = np.full(n, NONE, dtype=np.int64)
    otype = np.full(n, NONE, dtype=np.int64)
    if bindings is not None and len(bindings):
        b = bindings[~bindings.index.duplicated(keep="last")]
        pos = pd.Index(b.index.astype("int64")).get_indexer(order_ids)
        hit = pos >= 0
        owner[hit] = pd.to_numeric(b["owner_id"]).astype("Int64").fillna(NONE).to_numpy(
            np.int64)[pos[hit]]
        otype[hit] = pd.to_numeric(b["owner_type_id"]).astype("Int64").fillna(NONE).to_numpy(
            np.int64)[pos[hit]]
    row = pd.Index(owner_key).get_indexer(_key(otype, owner))
    row[owner == NONE] = NONE
    return owner, otype, row.astype(np.int64)


def _key(types: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """One int64 per owner: ids are unique only within an owner type."""
    return types * np.int64(1 << 40) + ids


def suggest(deals: pd.DataFrame, orders: pd.DataFrame, bindings: pd.DataFrame | None = None,
            *, high: float = 0.99, low: float = 0.05, margin: float = 0.05,
            amount_tol: float = 0.25, date_window: tuple[float, float] = (-30, 60),
            id_window: tuple[float, float] = (-90, 365), auto_window_min: float = 60,
            alternatives: bool = True, decisions: pd.DataFrame | None = None,
            invoices: pd.DataFrame | list[pd.DataFrame] | None = None,
            seed: int = 0) -> pd.DataFrame:
    """Suggest which deal (or invoice) each order belongs to, with the evidence for it.

    A Fellegi–Sunter model is fitted to these frames on each call (u from random pairs, m by
    EM over the candidates, term-frequency adjusted), so the weights fit this portal without
    tuning; ``pairs.attrs["model"]`` keeps the fitted :class:`Model`.

    Parameters
    ----------
    deals, orders, bindings : DataFrame
        As :func:`b24nb.load_deals`, :func:`b24nb.load_orders` and :func:`b24nb.load_bindings`
        return them (docs/contracts.md §Frames). Required: ``OPPORTUNITY``, ``CURRENCY_ID``,
        ``DATE_CREATE`` and ``price``, ``currency``, ``dateInsert``; every other column is
        used when present (``contact_*``, ``customer_*``, ``CONTACT_ID``, ``contact_id``, …).
    high, low : float
        Match probabilities: pre-tick at or above ``high`` (0.99: about one wrong tick in a
        hundred at worst); drop below ``low`` (the model finds the pair very unlikely).
    margin : float
        A runner-up this close in probability makes a pair ambiguous (never pre-ticked); a
        current owner keeps its order unless beaten by more than this.
    amount_tol, date_window : float, (float, float)
        The amount rule's relative tolerance (fees, discounts) and its window in days (order
        date minus deal date; negative = the deal came after the order). An equal amount in
        the same currency inside the window is always a candidate.
    id_window : (float, float)
        Days window for pairs found by client, e-mail, phone or number.
    auto_window_min : float
        Minutes after an order within which a deal titled after it counts as auto-created.
    alternatives : bool
        Add the competing free deals of ambiguous orders as extra (never pre-ticked) rows.
    decisions : DataFrame, optional
        The analyst's decisions (``b24nb.decisions()``: ``order_id``, ``deal_id``,
        ``owner_type_id``, ``decision``, ``decided_at``; the newest per pair wins). Rejected
        pairs are never suggested; accepted ones (and ``bind()`` results) are known matches
        that EM learns from; ``unsure`` changes nothing.
    invoices : DataFrame or list of DataFrame, optional
        ``b24nb.load_invoices(...)`` frames (smart, type 31; legacy, type 5). Their rows
        compete with the deals for each order; ``owner_type_id`` says which won.
    seed : int
        Seed of the random pairs and EM sample: the same input always gives the same pairs.

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
    >>> from b24nb.testing import demo_frames
    >>> deals, orders, bindings, truth = demo_frames(seed=1, n_deals=200, n_orders=240)
    >>> pairs = suggest(deals, orders, bindings)
    >>> ev = pairs[[c for c in pairs if c.startswith("ev_")]].sum(axis=1)
    >>> bool((ev - pairs["weight"]).abs().max() < 1e-9)
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
    owners, owner_ids, owner_types = combine(deals, invoices)
    if not len(owners) or not len(orders):
        return empty_pairs()

    # Rows in id order: the random pairs and the EM sample are drawn by row, and the same
    # input in any row order must give the same pairs.
    by_id = np.lexsort((owner_ids, owner_types))
    owners, owner_ids, owner_types = owners.iloc[by_id], owner_ids[by_id], owner_types[by_id]
    orders = orders.sort_index(kind="stable")
    d, o = prepare(owners, orders)
    d.ids, d.kind = owner_ids, owner_types
    n_d, n_o = len(d.ids), len(o.ids)
    d_key = _key(owner_types, owner_ids)
    owner, otype, owner_row = _owners(bindings, o.ids, d_key)
    auto = auto_created(d, o, auto_window_min) & (owner_types == 2)
    owner_auto = (owner_row != NONE) & auto[np.maximum(owner_row, 0)]
    current = np.where(owner_auto, NONE, owner_row)

    di, oi, bits = block(d, o, candidate=~auto, current=current, amount_tol=amount_tol,
                         date_window=date_window, id_window=id_window)
    lv, lag = levels(d, o, di, oi)
    known, rejected = known_pairs(decisions, d_key[di], o.ids[oi])
    model, tf = fit(d, o, di, oi, lv, tf_keys(d, o, oi, lv), np.flatnonzero(~auto),
                    known=known, seed=seed)
    evidence, score = weigh(model, lv, tf, di, oi, n_d, n_o)
    logger.debug("blocked %d candidate pairs for %d owners × %d orders", len(di), n_d, n_o)

    # Orders whose real current owner holds: unless beaten by more than `margin`, they stay.
    is_cur = di == current[oi]
    cur_score = np.full(n_o, -np.inf)
    cur_score[oi[is_cur]] = score[is_cur]
    alt_best = np.full(n_o, -np.inf)
    np.maximum.at(alt_best, oi[~is_cur], score[~is_cur])
    settled = (current != NONE) & ((alt_best <= cur_score + margin) | (alt_best < low))
    keep = np.flatnonzero((score >= low) & ~is_cur & ~settled[oi] & ~rejected)
    di, oi, bits, score, lag = di[keep], oi[keep], bits[keep], score[keep], lag[keep]
    ev = evidence.at(keep)
    lv = {k: v[keep] for k, v in lv.items()}
    eligible = np.ones(len(keep), dtype=bool)
    # a deal already taken may take one more order when the same customer or a split of its
    # amount says so (split deliveries)
    identity = np.isin(lv["customer"], (1, 2, 3, 4)) | (lv["amount"] == 7)
    kept = current[settled]
    res = assign(di, oi, score, eligible, identity, (d_key, o.ids), kept[kept != NONE])

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
    order = np.lexsort((d_key[di[pick]], o.ids[oi[pick]], -score[pick]))
    pick, kind, amb = pick[order], kind[order], amb[order]
    pairs = assemble(deals=owners, orders=orders, d=d, o=o, di=di[pick], oi=oi[pick],
                     bits=bits[pick], score=score[pick],
                     ev={k: v[pick] for k, v in ev.items()},
                     lv={k: v[pick] for k, v in lv.items()}, lag=lag[pick], kind=kind, amb=amb,
                     owners=(owner, otype, owner_auto), high=high)
    pairs.attrs["model"] = model
    return pairs
