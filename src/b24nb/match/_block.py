"""Blocking: the candidate (deal, order) pairs worth scoring, never the full cross product.

Each rule yields index pairs and sets its bit in ``found_by``; the union is deduplicated with
the bits OR-ed, so a pair found by e-mail and by amount says both. Rules (research
``notebook-ux.md`` C.4):

* ``contact`` / ``company`` — the order's CRM client is the deal's contact / company;
* ``email`` / ``phone`` — a customer e-mail / phone (last 10 digits) of the order equals one
  of the deal contact's;
* ``amount`` — same currency and the order dated within ``date_window`` days of the deal,
  with (a) the same amount to the cent, or a half or a third of it (split deliveries): the
  12 orders before and 24 after the deal's date nearest to it, so every such pair is a
  candidate unless more orders than that share the amount in the window (a catalogue price,
  where amount and date could not tell them apart anyway); (b) amounts within
  ``amount_tol`` (fees, discounts): the 1 before and 3 after nearest in time per amount band
  (sorted-neighbourhood search, no cross product);
* ``number`` — the deal's title names the order's number (:mod:`._refs`);
* ``current`` — the order's current owner (it competes with the suggestions).

Identity rules keep only pairs within ``id_window`` days, so a customer with years of history
does not multiply out.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from b24nb.match._prep import NO_TIME, NONE, Side

__all__ = ["RULES", "Blocking", "auto_created", "block"]

logger = logging.getLogger(__name__)

RULES = ("contact", "company", "email", "phone", "amount", "number", "current")
BIT = {name: np.uint8(1 << i) for i, name in enumerate(RULES)}
DAY = 86_400

# A title that *is* an order reference, as the portal writes for the deals it auto-creates.
_AUTO_TITLE = re.compile(r"^\s*(?:заказ|order)\b", re.IGNORECASE)


MAX_GROUP = 20_000  # deals × orders sharing one key; larger groups say nothing about a pair


def _pairs(a: pd.DataFrame, b: pd.DataFrame, rule: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Equi-join (row, key) tables of deals ``a`` and orders ``b`` on their integer ``key``.

    A key shared by a huge group (a holding company with thousands of deals and orders, an
    ``info@`` mailbox) would multiply out and cannot single out a pair anyway: such keys are
    skipped for this rule, and logged. A sort-and-search join: ``b`` sorted by key once, each
    row of ``a`` finds its run of equal keys by binary search (several times cheaper than a
    hash merge of two frames, and the group sizes come with it).
    """
    empty = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not len(a) or not len(b):
        return empty
    ka, kb = a["key"].to_numpy(np.int64), b["key"].to_numpy(np.int64)
    by_a, by_b = np.argsort(ka, kind="stable"), np.argsort(kb, kind="stable")
    ka, ra = ka[by_a], a["row"].to_numpy(np.int64)[by_a]
    kb, rb = kb[by_b], b["row"].to_numpy(np.int64)[by_b]
    lo, hi = np.searchsorted(kb, ka, side="left"), np.searchsorted(kb, ka, side="right")
    counts = hi - lo
    # deals sharing a's key: the run of equal keys in sorted ka
    same_a = np.searchsorted(ka, ka, side="right") - np.searchsorted(ka, ka, side="left")
    big = counts * same_a > MAX_GROUP
    if big.any():
        logger.info("rule %s: %d key(s) shared by more than %d pairs skipped", rule,
                    len(np.unique(ka[big])), MAX_GROUP)
        counts = np.where(big, 0, counts)
    return _spans(ra, lo, counts, rb)


def _spans(rows: np.ndarray, lo: np.ndarray, counts: np.ndarray, sorted_rows: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (``rows[i]``, each of ``sorted_rows[lo[i]:lo[i] + counts[i]]``), without a loop:
    every rule ends in such contiguous runs of the other side, found by binary search."""
    total = int(counts.sum())
    if not total:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return np.repeat(rows, counts), sorted_rows[np.arange(total) + starts]


def _id_table(values: np.ndarray) -> pd.DataFrame:
    ok = values != NONE
    return pd.DataFrame({"row": np.flatnonzero(ok), "key": values[ok]})


def auto_created(deals: Side, orders: Side, window_min: float) -> np.ndarray:
    """Boolean per deal: it looks auto-created from an order.

    The rule: the title starts as an order reference ("Заказ …", "Order …") naming an existing
    order, and the deal was created between 5 minutes before and ``window_min`` minutes after
    that order — what ``sale.order.add`` does on a live portal (research §10). A deal a
    manager titled "Заказ 123: …" days before the order is not caught by it.
    """
    auto = np.zeros(len(deals.ids), dtype=bool)
    # a vectorised test first, the exact pattern on the few titles it lets through
    maybe = np.flatnonzero(deals.text.str.contains(r"(?i)^\s*(?:заказ|order)", regex=True)
                           .fillna(False).to_numpy(bool))
    looks = np.zeros(len(deals.ids), dtype=bool)
    looks[maybe] = deals.text.iloc[maybe].astype(object).str.contains(
        _AUTO_TITLE, na=False).to_numpy(bool)
    if not looks.any() or not len(orders.ids):
        return auto
    refs = deals.ref_tab[looks[deals.ref_tab["row"].to_numpy()]]
    di, oi = _pairs(refs, orders.ref_tab)
    lag = deals.t[di] - orders.t[oi]
    ok = (deals.t[di] != NO_TIME) & (orders.t[oi] != NO_TIME)
    ok &= (lag >= -300) & (lag <= window_min * 60)
    auto[di[ok]] = True
    return auto


def _amount_block(deals: Side, orders: Side, tol: float, window: tuple[float, float],
                  cap: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Same currency, |Δamount| within ``tol`` (relative), order date in the window.

    Orders are sorted by (currency, log-amount bucket, time); a deal looks up its own bucket
    and the two neighbours, each a contiguous time range found by binary search, so the work
    is proportional to the pairs produced. Per bucket only the ``cap`` = (before, after)
    orders nearest to the deal's date are kept.
    """
    empty = np.zeros(0, np.int64), np.zeros(0, np.int64)
    width = np.log1p(max(tol, 1e-6))

    vo, vd = np.flatnonzero(_valid(orders)), np.flatnonzero(_valid(deals))
    if not len(vo) or not len(vd):
        return empty
    t0 = min(orders.t[vo].min(), deals.t[vd].min()) - int(abs(window[0]) * DAY) - 1

    shifts = (-1, 0, 1)

    def bucket(a: np.ndarray) -> np.ndarray:
        return np.floor(np.log(np.maximum(np.abs(a), 1.0)) / width).astype(np.int64) + 1

    def head(cur: np.ndarray, b: np.ndarray) -> np.ndarray:
        return ((cur << 20) + b) << 32

    ko = head(orders.cur[vo], bucket(orders.amount[vo])) + (orders.t[vo] - t0)
    order_sort = np.argsort(ko, kind="stable")
    ko = ko[order_sort]
    so = vo[order_sort]
    bd = bucket(deals.amount[vd])
    # the deals in the orders' sort order too: every binary search below then walks the
    # orders' keys front to back (cache-friendly, several times faster than random needles)
    deal_sort = np.argsort(head(deals.cur[vd], bd) + (deals.t[vd] - t0), kind="stable")
    vd, bd = vd[deal_sort], bd[deal_sort]
    td = deals.t[vd] - t0
    top = (1 << 32) - 1
    lo_t = np.clip(td + int(window[0] * DAY), 0, top)
    mid_t = np.clip(td, 0, top)
    hi_t = np.clip(td + int(window[1] * DAY), 0, top)
    d_out, o_out = [], []
    for shift in shifts:
        base = head(deals.cur[vd], bd + shift)
        lo = np.searchsorted(ko, base + lo_t, side="left")
        mid = np.searchsorted(ko, base + mid_t, side="left")
        hi = np.searchsorted(ko, base + hi_t, side="right")
        # Sorted neighbourhood: at a popular catalogue price hundreds of orders share the
        # amount within the window; only the ones nearest in time to the deal are worth
        # scoring (the rest could never be told apart on amount and date alone).
        lo = np.maximum(lo, mid - cap[0])
        hi = np.minimum(hi, mid + cap[1])
        di, oi = _spans(vd, lo, np.maximum(hi - lo, 0), so)
        if not len(di):
            continue
        a, p = deals.amount[di], orders.amount[oi]
        ok = np.abs(a - p) <= tol * np.maximum(np.abs(a), np.abs(p)) + 0.005
        # equal to the cent: the exact rule's (its cap per side is wider and counts only
        # equal amounts, so it holds every such pair this one would)
        ok &= np.round(a * 100) != np.round(p * 100)
        d_out.append(di[ok])
        o_out.append(oi[ok])
    if not d_out:
        return empty
    return np.concatenate(d_out), np.concatenate(o_out)


def _valid(s: Side) -> np.ndarray:
    # a zero amount is "not filled in" on most portals, not a price to compare
    return (s.cur != NONE) & (s.t != NO_TIME) & np.isfinite(s.amount) & (s.amount > 0)


def _exact_block(deals: Side, orders: Side, window: tuple[float, float],
                 parts: tuple[tuple[int, tuple[int, int]], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Same currency and the same amount to the cent — or the deal's amount divided by a
    part's divisor (a split delivery) — with the order dated in the window.

    One sort of the orders by (currency and cents, time) serves every divisor: each deal
    finds its value's run by binary search and keeps the ``cap`` = (before, after) orders
    nearest its date (at a catalogue price shared by hundreds of orders in the window the
    farther ones could not be told apart anyway).
    """
    empty = np.zeros(0, np.int64), np.zeros(0, np.int64)
    vo, vd = np.flatnonzero(_valid(orders)), np.flatnonzero(_valid(deals))
    if not len(vo) or not len(vd):
        return empty
    key_o = orders.cur[vo] * np.int64(1 << 40) + np.round(orders.amount[vo] * 100).astype(
        np.int64)
    values, code_o = np.unique(key_o, return_inverse=True)
    t0 = min(orders.t[vo].min(), deals.t[vd].min()) - int(abs(window[0]) * DAY) - 1
    ko = (code_o.astype(np.int64) << 32) + (orders.t[vo] - t0)
    order_sort = np.argsort(ko, kind="stable")
    ko, so = ko[order_sort], vo[order_sort]
    rows, codes, caps = [], [], []
    for divisor, cap in parts:
        key_d = deals.cur[vd] * np.int64(1 << 40) + np.round(
            deals.amount[vd] / divisor * 100).astype(np.int64)
        pos = np.clip(np.searchsorted(values, key_d), 0, len(values) - 1)
        hit = values[pos] == key_d
        rows.append(vd[hit])
        codes.append(pos[hit].astype(np.int64))
        caps.append(np.broadcast_to(np.asarray(cap), (int(hit.sum()), 2)))
    di_all, code, cap = np.concatenate(rows), np.concatenate(codes), np.concatenate(caps)
    top = (1 << 32) - 1
    td = deals.t[di_all] - t0
    # needles in the orders' sort order: the binary searches walk the keys front to back
    by_key = np.argsort((code << 32) + np.clip(td, 0, top), kind="stable")
    di_all, code, cap, td = di_all[by_key], code[by_key], cap[by_key], td[by_key]
    base = code << 32
    lo = np.searchsorted(ko, base + np.clip(td + int(window[0] * DAY), 0, top), side="left")
    mid = np.searchsorted(ko, base + np.clip(td, 0, top), side="left")
    hi = np.searchsorted(ko, base + np.clip(td + int(window[1] * DAY), 0, top), side="right")
    lo = np.maximum(lo, mid - cap[:, 0])
    hi = np.minimum(hi, mid + cap[:, 1])
    return _spans(di_all, lo, np.maximum(hi - lo, 0), so)


@dataclass(frozen=True)
class Blocking:
    """How wide the rules cast their net (``suggest``'s options of the same names).

    ``amount_tol`` and ``date_window`` (days, order date minus deal date) bound the amount
    rule; ``id_window`` the identity rules. The caps are (before, after) counts of orders kept
    per deal nearest in time: ``exact_cap`` for an equal amount, ``part_cap`` for a half or a
    third of it, ``amount_cap`` per band of near amounts.
    """

    amount_tol: float = 0.25
    date_window: tuple[float, float] = (-30, 60)
    id_window: tuple[float, float] = (-90, 365)
    amount_cap: tuple[int, int] = (1, 3)
    exact_cap: tuple[int, int] = (12, 24)
    part_cap: tuple[int, int] = (2, 4)


def block(deals: Side, orders: Side, *, candidate: np.ndarray, current: np.ndarray,
          rules: Blocking) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of all rules: (deal rows, order rows, found_by bits), each pair once.

    ``candidate`` masks deals allowed as suggestions (auto-created ones are not);
    ``current`` gives, per order, the deal row of its current owner or NONE.
    """
    parts: list[tuple[np.ndarray, np.ndarray, np.uint8]] = []

    def windowed(di: np.ndarray, oi: np.ndarray, lo: float, hi: float
                 ) -> tuple[np.ndarray, np.ndarray]:
        lag = orders.t[oi] - deals.t[di]
        known = (orders.t[oi] != NO_TIME) & (deals.t[di] != NO_TIME)
        keep = candidate[di] & (~known | ((lag >= lo * DAY) & (lag <= hi * DAY)))
        return di[keep], oi[keep]

    for rule, (a, b) in {
        "contact": (_id_table(deals.contact), _id_table(orders.contact)),
        "company": (_id_table(deals.company), _id_table(orders.company)),
        "email": (deals.email_tab, orders.email_tab),
        "phone": (deals.phone_tab, orders.phone_tab),
        "number": (deals.ref_tab, orders.ref_tab),
    }.items():
        di, oi = windowed(*_pairs(a, b, rule), *rules.id_window)
        parts.append((di, oi, BIT[rule]))
    # An equal amount in the same currency within the window is always a candidate (up to
    # the `exact_cap` nearest in time each way: at a catalogue price shared by hundreds of
    # orders the farther ones could not be told apart anyway), and so is an order of a half
    # or a third of the deal's amount (a split delivery, up to `part_cap`); near amounts
    # (fees, discounts) only the few nearest in time.
    parts_of = ((1, rules.exact_cap), (2, rules.part_cap), (3, rules.part_cap))
    for di, oi in (_exact_block(deals, orders, rules.date_window, parts_of),
                   _amount_block(deals, orders, rules.amount_tol, rules.date_window,
                                 rules.amount_cap)):
        keep = candidate[di]
        parts.append((di[keep], oi[keep], BIT["amount"]))
    oi = np.flatnonzero(current != NONE)
    parts.append((current[oi], oi, BIT["current"]))

    di = np.concatenate([p[0] for p in parts])
    oi = np.concatenate([p[1] for p in parts])
    bits = np.concatenate([np.full(len(p[0]), p[2], dtype=np.uint8) for p in parts])
    if not len(di):
        return di, oi, bits
    key = di * np.int64(max(len(orders.ids), 1)) + oi
    order = np.argsort(key, kind="stable")
    key, bits = key[order], bits[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    merged = np.bitwise_or.reduceat(bits, first)
    key = key[first]
    n_o = np.int64(max(len(orders.ids), 1))
    return key // n_o, key % n_o, merged
