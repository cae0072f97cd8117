"""The input frames as the matcher sees them: owners and orders in id order, as arrays, with
each order's current owner looked up.

Why a stage of its own: everything after it (blocking, the model, one-to-one, the output rows)
works on row numbers into these arrays, and the same input in any row order must give the
same pairs — so the rows are put in id order here, once, and every later step inherits it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from b24nb.match import _prep
from b24nb.match._block import auto_created
from b24nb.match._owners import combine
from b24nb.match._prep import NONE, Side, check, prepare
from b24nb.pairs import DEAL

__all__ = ["Inputs", "owner_key", "read_inputs"]


def owner_key(types: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """One int64 per owner: ids are unique only within an owner type."""
    return types * np.int64(1 << 40) + ids


@dataclass
class Inputs:
    """Owners (deals and invoices) and orders, by row; per order, who owns it today.

    ``key`` names each owner row across types (:func:`owner_key`); ``auto`` marks the
    auto-created deals. Per order: ``owner``/``otype`` its current owner's id and type (NONE
    when unbound), ``owner_auto`` whether that owner is an auto-created deal, ``current`` the
    owner row of a *real* current owner (NONE when unbound or bound to an auto-created deal).
    """

    owners: pd.DataFrame
    orders: pd.DataFrame
    d: Side
    o: Side
    key: np.ndarray
    auto: np.ndarray
    owner: np.ndarray
    otype: np.ndarray
    owner_auto: np.ndarray
    current: np.ndarray

    @property
    def n_d(self) -> int:
        return len(self.d.ids)

    @property
    def n_o(self) -> int:
        return len(self.o.ids)


def _current_owners(bindings: pd.DataFrame | None, order_ids: np.ndarray, key: np.ndarray
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
    row = pd.Index(key).get_indexer(owner_key(otype, owner))
    row[owner == NONE] = NONE
    return owner, otype, row.astype(np.int64)


def read_inputs(deals: pd.DataFrame, orders: pd.DataFrame, bindings: pd.DataFrame | None,
                invoices: pd.DataFrame | list[pd.DataFrame] | None, *, auto_window_min: float
                ) -> Inputs | None:
    """Check the frames and return them as :class:`Inputs`; None without an owner or an order.

    Raises
    ------
    b24nb.errors.ValidationError
        Missing columns or wrong dtypes, all named in one message.
    """
    check(deals, "deals", _prep.DEAL_REQUIRED, _prep.DEAL_OPTIONAL)
    check(orders, "orders", _prep.ORDER_REQUIRED, _prep.ORDER_OPTIONAL)
    if bindings is not None:
        check(bindings, "bindings", _prep.BINDING_REQUIRED, {}, unique=False)
    owners, owner_ids, owner_types = combine(deals, invoices)
    if not len(owners) or not len(orders):
        return None
    # Rows in id order: the random pairs and the EM sample are drawn by row, and the same
    # input in any row order must give the same pairs.
    by_id = np.lexsort((owner_ids, owner_types))
    owners, owner_ids, owner_types = owners.iloc[by_id], owner_ids[by_id], owner_types[by_id]
    orders = orders.sort_index(kind="stable")
    d, o = prepare(owners, orders)
    d.ids, d.kind = owner_ids, owner_types
    key = owner_key(owner_types, owner_ids)
    owner, otype, owner_row = _current_owners(bindings, o.ids, key)
    auto = auto_created(d, o, auto_window_min) & (owner_types == DEAL)
    owner_auto = (owner_row != NONE) & auto[np.maximum(owner_row, 0)]
    current = np.where(owner_auto, NONE, owner_row)
    return Inputs(owners=owners, orders=orders, d=d, o=o, key=key, auto=auto, owner=owner,
                  otype=otype, owner_auto=owner_auto, current=current)
