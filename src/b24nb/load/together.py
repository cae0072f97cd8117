"""``load_all``: deals, orders and bindings read at once, within the one shared bucket.

Why: each loader waits mostly on the portal (a batch's 50 pages run one after another on the
server, ~1.5 s), not on this machine, so the three of them side by side take about as long as
the slowest alone. The notebook's first page waits on all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from b24nb.load.bindings import load_bindings
from b24nb.load.deals import load_deals
from b24nb.load.orders import load_orders

__all__ = ["load_all"]


def load_all(
    portal: Any,
    deal_filter: Mapping[str, Any] | None = None,
    order_filter: Mapping[str, Any] | None = None,
    *,
    cache: bool | str = False,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Load ``(deals, orders, bindings)`` concurrently, each as its own loader would.

    Parameters
    ----------
    portal : Portal
    deal_filter, order_filter : mapping, optional
        Passed to :func:`~b24nb.load.load_deals` and :func:`~b24nb.load.load_orders`.
    cache : bool or "refresh"
        Passed to all three (warm reloads, :mod:`b24nb.load.cache`); each frame's
        ``attrs["b24nb_cache"]`` says what was read.
    progress : bool

    Raises
    ------
    Whatever the first failing loader raised; the others are waited for, not abandoned
    half-way (their requests are reads, but a thread left running would keep sending).
    """
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="b24nb-load-all") as pool:
        deals = pool.submit(load_deals, portal, deal_filter or None, progress=progress,
                            cache=cache)
        orders = pool.submit(load_orders, portal, order_filter or None, progress=progress,
                             cache=cache)
        bindings = pool.submit(load_bindings, portal, progress=progress, cache=cache)
        return deals.result(), orders.result(), bindings.result()
