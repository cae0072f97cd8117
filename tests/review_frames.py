"""Demo frames for the review tests: the sandbox demo's records typed like the loaders'.

One cached place, so the review tests share one build per size.
"""

from __future__ import annotations

import functools

import pandas as pd

from b24nb.testing import demo_frames


@functools.cache
def _frames(seed: int, n_deals: int, n_orders: int) -> tuple[pd.DataFrame, ...]:
    deals, orders, bindings, _truth = demo_frames(seed=seed, n_deals=n_deals, n_orders=n_orders)
    return deals, orders, bindings


def review_frames(seed: int, n_deals: int, n_orders: int) -> tuple[pd.DataFrame, ...]:
    """``(deals, orders, bindings)``; copies, so a test may change them."""
    return tuple(f.copy() for f in _frames(seed, n_deals, n_orders))
