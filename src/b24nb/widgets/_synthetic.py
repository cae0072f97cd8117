"""A contract-shaped pairs frame made from random numbers, for tests and benchmarks.

Why it exists: the widget must be built and measured on frames far larger than any sandbox
would produce (1,000,000 pairs), and before the matcher exists. The frame follows
``docs/contracts.md`` §Frames column by column and dtype by dtype, so anything that works on
it works on :func:`b24nb.suggest`'s output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["synthetic_pairs"]


def synthetic_pairs(n: int = 200, *, seed: int = 0, candidates_per_order: int = 2) -> pd.DataFrame:
    """Build a pairs frame of ``n`` rows with the contract's columns and dtypes.

    Parameters
    ----------
    n
        Number of pairs.
    seed
        Seed of the random generator; the same seed gives the same frame.
    candidates_per_order
        About how many candidate deals each order gets, so that ticking one pair has other
        candidates of the same order to grey out.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``pair_id`` (Int64, 0..n-1); every ``bind_*`` column empty, nothing selected.
    """
    rng = np.random.default_rng(seed)
    n_orders = max(1, n // max(1, candidates_per_order))
    order_id = np.sort(rng.integers(1, n_orders + 1, size=n)) + 1000
    deal_id = rng.integers(1, max(2, n // 2) + 1, size=n)
    score = np.round(rng.beta(2.0, 1.2, size=n), 3)
    ev_amount = np.round(score * 0.4, 4)
    ev_contact = np.round(score * 0.35, 4)
    ev_date = np.round(score - ev_amount - ev_contact, 4)
    amount = np.round(rng.uniform(100, 90_000, size=n), 2)
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    order_date = t0 + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, size=n), unit="min")
    deal_date = order_date + pd.to_timedelta(rng.integers(-3 * 24 * 60, 3 * 24 * 60, size=n),
                                             unit="min")
    bound = rng.random(n) < 0.1
    owner = np.where(bound, rng.integers(1, max(2, n // 2) + 1, size=n), 0)
    reasons = np.where(ev_contact > 0.2, "amount = · contact = · ", "amount ≈ · ")
    days = np.abs((deal_date - order_date).days)
    names = np.array(["Иван Петров", "Anna Smith", "ООО Ромашка", "John Doe", "Мария Иванова"])
    first_names = names[rng.integers(0, len(names), size=n)]
    frame = pd.DataFrame(
        {
            "deal_id": pd.array(deal_id, dtype="Int64"),
            "order_id": pd.array(order_id, dtype="Int64"),
            "owner_type_id": pd.array(np.full(n, 2), dtype="Int64"),
            "score": score.astype("float64"),
            "reasons": pd.array(np.char.add(reasons.astype(str), np.char.add(
                days.astype(str), " days")), dtype="string"),
            "found_by": pd.array(np.where(ev_contact > 0.2, "phone", "amount+week"),
                                 dtype="string"),
            "ev_amount": ev_amount,
            "ev_contact": ev_contact,
            "ev_date": ev_date,
            "deal_title": pd.array(np.char.add("Deal for ", first_names.astype(str)),
                                   dtype="string"),
            "deal_amount": amount,
            "deal_date": deal_date,
            "order_number": pd.array(order_id.astype(str), dtype="string"),
            "order_amount": np.round(amount * np.where(rng.random(n) < 0.8, 1.0, 1.05), 2),
            "order_date": order_date,
            "currency": pd.array(np.full(n, "RUB"), dtype="string"),
            "customer": pd.array(first_names, dtype="string"),
            "current_owner_id": pd.array(np.where(bound, owner, 0), dtype="Int64"),
            "current_owner_type_id": pd.array(np.where(bound, 2, 0), dtype="Int64"),
            "current_owner_auto": pd.array(bound & (rng.random(n) < 0.5), dtype="boolean"),
            "rebind": pd.array(bound & (owner != deal_id), dtype="boolean"),
            "ambiguous": pd.array(rng.random(n) < 0.05, dtype="boolean"),
            "selected": pd.array(np.zeros(n, dtype=bool), dtype="boolean"),
            "bind_status": pd.array([pd.NA] * n, dtype="string"),
            "bind_error": pd.array([pd.NA] * n, dtype="string"),
            "bind_message": pd.array([pd.NA] * n, dtype="string"),
            "bind_response": pd.Series([None] * n, dtype="object").to_numpy(),
            "bind_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]").to_numpy(),
        }
    )
    frame["bind_at"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    for col in ("current_owner_id", "current_owner_type_id"):
        frame.loc[~bound, col] = pd.NA
    frame.loc[~bound, "current_owner_auto"] = pd.NA
    frame.index = pd.Index(np.arange(n), dtype="Int64", name="pair_id")
    return frame
