"""``SandboxConfig``: everything a :class:`~.core.Sandbox` is built from, in one value.

Why a dataclass: a portal is described by seventeen options (data, limits, plan, clock,
latency, port…). As keywords of one constructor they could only be passed on, never kept,
compared or varied; as a frozen value a test or a benchmark builds a portal once and derives
its variants with :meth:`SandboxConfig.replace`. ``Sandbox(seed=0, …)`` still works: its
keywords go through :meth:`SandboxConfig.replace`, so both forms accept exactly the same
names and refuse a misspelt one the same way.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .api import Latency

__all__ = ["Records", "SandboxConfig"]

Records = Iterable[Mapping[str, Any]] | None


@dataclass(frozen=True)
class SandboxConfig:
    """The options of a sandbox portal: its data, its limits, its clock and its latency.

    Frozen, so one value can describe several portals; the record iterables are read once,
    when a :class:`~.core.Sandbox` is built from it (a generator serves one portal only).

    Parameters
    ----------
    seed, n_deals, n_orders : demo data size and seed (used when ``demo`` is true).
    deals, orders, contacts, companies, bindings : your own records in the API's field names;
        missing fields get defaults. Loaded after the demo data, if any.
    demo : load the demo data set (``b24nb.sandbox.demo.make_demo``).
    limits : enforce the leaky bucket (503) and the operating-time limit (429).
    plan : ``"standard"`` (50 burst, 2/s) or ``"enterprise"`` (250, 5/s).
    operating_limit : seconds of execution per method per 10 minutes (480 on the cloud).
    time_scale : virtual clock speed; 100 makes every clock and wait 100 times shorter.
    latency : modelled server time per call (True: default model; a ``Latency``; False: none).
    port : TCP port on 127.0.0.1; 0 picks a free one.
    auto_deals : ``sale.order.add`` also creates and binds a deal, as real portals do.
    truth : ground truth {order_id: deal_id} for your own records.
    invoices : add the demo invoices (:mod:`.demo_invoices`) to the demo portal: orders owned
        by smart and legacy invoices, bindings to deleted invoices, mismatches. The demo's
        deals, orders and ``truth`` are the same either way; ``truth_owner`` has them all.

    Examples
    --------
    >>> quiet = SandboxConfig(demo=False, limits=False, latency=False)
    >>> quiet.replace(plan="enterprise").plan
    'enterprise'
    """

    seed: int = 0
    n_deals: int = 2000
    n_orders: int = 2400
    deals: Records = None
    orders: Records = None
    contacts: Records = None
    companies: Records = None
    bindings: Records = None
    demo: bool = True
    limits: bool = True
    plan: str = "standard"
    operating_limit: float = 480.0
    time_scale: float = 1.0
    latency: bool | Latency = True
    port: int = 0
    auto_deals: bool = True
    truth: Mapping[int, int] | None = None
    invoices: bool = True

    def replace(self, **options: Any) -> SandboxConfig:
        """A copy with ``options`` changed; an unknown name is a ``TypeError`` naming it.

        The error suggests the closest option names, as a misspelt keyword (``n_deal=``)
        would otherwise only say that it is unexpected.
        """
        names = [f.name for f in dataclasses.fields(self)]
        for key in options:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=3)
                hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
                raise TypeError(f"Sandbox got an unexpected option {key!r}{hint}")
        return dataclasses.replace(self, **options)
