"""``load_all``: deals, orders and bindings (and invoices) read at once, in one shared bucket.

Why: each loader waits mostly on the portal (a batch's 50 pages run one after another on the
server, ~1.5 s), not on this machine, so the loaders side by side take about as long as the
slowest alone. The notebook's first page waits on all of them; the invoices (wanted by the
health report) ride along with ``invoices=True`` instead of costing a second wait after.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, overload

import pandas as pd

from b24nb.load.bindings import load_bindings
from b24nb.load.deals import load_deals
from b24nb.load.invoices import served_invoices
from b24nb.load.orders import load_orders

__all__ = ["load_all"]

Three = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]
Four = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[pd.DataFrame]]


@overload
def load_all(portal: Any, deal_filter: Mapping[str, Any] | None = ...,
             order_filter: Mapping[str, Any] | None = ..., *, invoices: Literal[False] = ...,
             cache: bool | str = ..., progress: bool = ...) -> Three: ...


@overload
def load_all(portal: Any, deal_filter: Mapping[str, Any] | None = ...,
             order_filter: Mapping[str, Any] | None = ..., *, invoices: Literal[True],
             cache: bool | str = ..., progress: bool = ...) -> Four: ...


def load_all(
    portal: Any,
    deal_filter: Mapping[str, Any] | None = None,
    order_filter: Mapping[str, Any] | None = None,
    *,
    invoices: bool = False,
    cache: bool | str = False,
    progress: bool = True,
) -> Three | Four:
    """Load ``(deals, orders, bindings)`` — and the invoices, fourth, with ``invoices=True`` —
    concurrently, each as its own loader would.

    Parameters
    ----------
    portal : Portal
    deal_filter, order_filter : mapping, optional
        Passed to :func:`~b24nb.load.load_deals` and :func:`~b24nb.load.load_orders`.
    invoices : bool
        Also return, fourth, the list of invoice frames the portal serves (smart, then
        legacy; a kind the portal does not have is left out), as
        :func:`~b24nb.load.invoices.served_invoices` reads them.
    cache : bool or "refresh"
        Passed to the deal, order and binding loaders (warm reloads,
        :mod:`b24nb.load.cache`); each frame's ``attrs["b24nb_cache"]`` says what was read.
    progress : bool

    Raises
    ------
    Whatever the first failing loader raised; the others are waited for, not abandoned
    half-way (their requests are reads, but a thread left running would keep sending).

    Examples
    --------
    >>> deals, orders, bindings = b24nb.load_all(portal)  # doctest: +SKIP
    >>> deals, orders, bindings, invoices = b24nb.load_all(portal, invoices=True)  # doctest: +SKIP
    """
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="b24nb-load-all") as pool:
        jobs = [
            pool.submit(load_deals, portal, deal_filter or None, progress=progress, cache=cache),
            pool.submit(load_orders, portal, order_filter or None, progress=progress,
                        cache=cache),
            pool.submit(load_bindings, portal, progress=progress, cache=cache),
        ]
        if invoices:
            jobs.append(pool.submit(served_invoices, portal, progress=progress))
        return tuple(job.result() for job in jobs)  # type: ignore[return-value]
