"""``load_orders`` with customers and properties: requests, wall time, operating seconds.

On a sandbox with its realistic costs (limits on: bucket 50/2 s⁻¹, 480 s of operating time per
method per 10 minutes; latency on: 32 ms a list page, 0.15 s a ``sale.order.get``), the
default path — orders, ``crm.ordercontactcompany.list`` links and ``sale.propertyvalue.list``
properties, each walked by ID, all three at once — against the request bound
⌈N/2500⌉ × (1 + links per order + properties per order) + 5. The fallback path for portals
without the links method (``sale.order.get``, 50 orders a request) is measured on a small
portal beside it: its operating seconds are what rule it out at scale.

Usage: ``python benchmarks/bench_load_orders.py [--quick] [--orders 200000]
[--fallback-orders 2400]``
"""

from __future__ import annotations

import argparse
import logging
import math
import time
import warnings

import b24nb
from b24nb.sandbox import Sandbox

METHODS = ("sale.order.list", "crm.ordercontactcompany.list", "sale.propertyvalue.list",
           "sale.order.get")


def run(n: int, fallback: bool) -> None:
    start = time.perf_counter()
    with Sandbox(seed=11, n_deals=10, n_orders=n) as sb:
        boot = time.perf_counter() - start
        portal = b24nb.connect(sb.url, progress=False)
        links = portal.call_full("crm.ordercontactcompany.list", {"select": ["id"]}).total or 0
        props = portal.call_full("sale.propertyvalue.list", {"select": ["id"]}).total or 0
        if fallback:
            sb.refuse("crm.ordercontactcompany.list")
        time.sleep(1.5)  # let the bucket drain the two counting requests
        sb.stats.reset()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fallback's one warning; printed below
            orders = b24nb.load_orders(portal, progress=False)
        seconds = time.perf_counter() - t0
        requests = sb.stats.http_requests
        refused = (sb.stats.refused_503, sb.stats.refused_429)
        operating = {m: sb.operating_seconds(m) for m in METHODS}
    path = "sale.order.get fallback" if fallback else "list path"
    per_l, per_p = links / max(n, 1), props / max(n, 1)
    bound = math.ceil(n / 2500) * (1 + per_l + per_p) + 5
    exact = orders.index.is_unique and len(orders) == n
    print(f"{path:<24}{n:>8}  requests {requests:>5} (bound {bound:7.1f}; links/order "
          f"{per_l:.2f}, properties/order {per_p:.2f})  {seconds:7.1f} s  "
          f"{n / seconds:8.0f} orders/s  503/429 {refused[0]}/{refused[1]}  "
          f"operating s: " + ", ".join(f"{m.split('.')[1]} {v:.1f}" for m, v in operating.items()
                                       if v) + f"  every order once: {exact}  "
          f"contact_id filled {orders['contact_id'].notna().mean():.0%}  "
          f"(sandbox start {boot:.1f} s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 orders")
    ap.add_argument("--orders", type=int, default=0, help="orders on the list path")
    ap.add_argument("--fallback-orders", type=int, default=2400,
                    help="orders on the sale.order.get path (0: skip)")
    args = ap.parse_args()
    logging.getLogger("b24nb").setLevel(logging.ERROR)
    n = args.orders or (20_000 if args.quick else 200_000)
    run(n, fallback=False)
    if args.fallback_orders:
        run(args.fallback_orders, fallback=True)


if __name__ == "__main__":
    main()
