"""One-to-one assignment: greedy by score with deterministic ties, and the ambiguity flag.

Why greedy and not an optimal assignment: it is what an analyst can follow ("the best pair
first"), it is what dedupe/recordlinkage/Splink do, and with mutual-best rounds it runs in
a few vectorised passes. Ties break by order id, then deal id (smaller first), so the same
input always gives the same pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Assignment", "assign", "runner_up"]

_MAX_ROUNDS = 64


@dataclass
class Assignment:
    """Indices into the candidate arrays: the chosen pairs, and which were shared deals."""

    chosen: np.ndarray  # candidate indices, pass 1 (one order ↔ one deal)
    shared: np.ndarray  # candidate indices, pass 2 (a deal already taken takes one more order)


def _rank(deal_id: np.ndarray, order_id: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Global order: score descending, then order id, then deal id (both ascending)."""
    order = np.lexsort((deal_id, order_id, -score))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _first_per(keys: np.ndarray, idx_in_rank_order: np.ndarray) -> np.ndarray:
    """Of ``idx`` (already in rank order), the first index for each distinct key."""
    _, first = np.unique(keys[idx_in_rank_order], return_index=True)
    return idx_in_rank_order[first]


def assign(di: np.ndarray, oi: np.ndarray, score: np.ndarray, eligible: np.ndarray,
           shareable: np.ndarray, ids: tuple[np.ndarray, np.ndarray],
           taken_deals: np.ndarray) -> Assignment:
    """Greedy one-to-one over ``eligible`` candidates, then one shared-deal pass.

    Each round accepts every pair that is the best remaining pair of both its order and its
    deal — exactly the pairs plain greedy would accept, many at once — and drops the pairs
    that touch them. ``ids`` are the (deal, order) ids the rows stand for, so ties break the
    same whatever the row order. ``taken_deals`` already own an order and stay with it.
    The second pass gives each order still without a deal its best ``shareable`` candidate
    even if that deal is taken (split deliveries); those pairs are never pre-ticked.
    """
    deal_ids, order_ids = ids
    n_deals, n_orders = len(deal_ids), len(order_ids)
    rank = _rank(deal_ids[di], order_ids[oi], score)
    by_rank = np.argsort(rank)
    deal_taken = np.zeros(n_deals, dtype=bool)
    deal_taken[taken_deals] = True
    order_done = np.zeros(n_orders, dtype=bool)
    alive = eligible & ~deal_taken[di]
    chosen: list[np.ndarray] = []
    for _ in range(_MAX_ROUNDS):
        seq = by_rank[alive[by_rank]]
        if not len(seq):
            break
        best_o = np.full(n_orders, -1, dtype=np.int64)
        best_d = np.full(n_deals, -1, dtype=np.int64)
        fo = _first_per(oi, seq)
        fd = _first_per(di, seq)
        best_o[oi[fo]] = fo
        best_d[di[fd]] = fd
        win = fo[best_d[di[fo]] == fo]
        chosen.append(win)
        order_done[oi[win]] = True
        deal_taken[di[win]] = True
        alive &= ~order_done[oi] & ~deal_taken[di]
    else:  # long chains: finish one by one, still in rank order
        for k in by_rank[alive[by_rank]]:
            if not order_done[oi[k]] and not deal_taken[di[k]]:
                chosen.append(np.array([k]))
                order_done[oi[k]] = True
                deal_taken[di[k]] = True
    picked = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)

    rest = eligible & shareable & ~order_done[oi]
    seq = by_rank[rest[by_rank]]
    shared = _first_per(oi, seq) if len(seq) else np.zeros(0, np.int64)
    return Assignment(chosen=np.sort(picked), shared=np.sort(shared))


def runner_up(di: np.ndarray, oi: np.ndarray, score: np.ndarray, eligible: np.ndarray,
              picked: np.ndarray, n_deals: int, n_orders: int) -> tuple[np.ndarray, np.ndarray]:
    """Best competing score for each picked pair (−inf when none), per order and per deal.

    A competitor of pair (d, o) for the order is another deal d' still free after the
    assignment; for the deal, another order o' left without a deal. Competitors that won a
    pair of their own are settled and do not make (d, o) doubtful.
    """
    deal_owner = np.full(n_deals, -1, dtype=np.int64)
    order_deal = np.full(n_orders, -1, dtype=np.int64)
    deal_owner[di[picked]] = oi[picked]
    order_deal[oi[picked]] = di[picked]
    free_deal = deal_owner[di] == -1
    free_order = order_deal[oi] == -1
    best_o = np.full(n_orders, -np.inf)
    best_d = np.full(n_deals, -np.inf)
    m = eligible & free_deal
    np.maximum.at(best_o, oi[m], score[m])
    m = eligible & free_order
    np.maximum.at(best_d, di[m], score[m])
    return best_o[oi[picked]], best_d[di[picked]]
