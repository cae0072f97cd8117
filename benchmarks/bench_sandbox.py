"""The sandbox at portal scale: start-up time and the speed of one ``>ID`` page.

Why a benchmark: a client benchmark against the sandbox is only as good as the sandbox's own
speed at the sizes benchmarked — a 200,000-row portal that took 20 s to start, or answered
an ID-walk page in 50 ms of its own work, would time the emulator instead of the client.
``tests/test_sandbox_scale.py`` checks the same setups for correctness; the timings live here.

Printed: seconds to start a sandbox from 200,000 explicit deals and orders, seconds from
``Sandbox(seed=0, n_deals=200000, n_orders=200000)`` to its first answered page, CPU seconds
to generate that demo (``make_demo``), and the median milliseconds of 25 ``start=-1`` pages
(latency model off, so this is the emulator's own work).

Usage: ``python benchmarks/bench_sandbox.py [-n 200000]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from b24nb.sandbox import Sandbox
from b24nb.sandbox.demo import make_demo
from b24nb.testing import call, scale_records


def median_ms(url: str, method: str, params: dict) -> float:
    """Median wall milliseconds of 25 calls over one keep-alive session (after one warm-up)."""
    s = requests.Session()
    call(url, method, params, session=s)
    times = []
    for _ in range(25):
        t0 = time.perf_counter()
        r = call(url, method, params, session=s)
        times.append(time.perf_counter() - t0)
        r.raise_for_status()
    return statistics.median(times) * 1000


def pages(url: str, n: int) -> str:
    deal = median_ms(url, "crm.deal.list", {"order": {"ID": "ASC"}, "filter": {">ID": n - 1000},
                                            "start": -1})
    order = median_ms(url, "sale.order.list", {"order": {"id": "ASC"},
                                               "filter": {">id": n * 3 // 4}, "start": -1})
    return f"a >ID page: deals {deal:.1f} ms, orders {order:.1f} ms (median of 25)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200_000, help="deals and orders")
    n = ap.parse_args().n
    records = scale_records(n)
    t0 = time.perf_counter()
    with Sandbox(demo=False, limits=False, latency=False, **records) as sb:
        took = time.perf_counter() - t0
        print(f"explicit records, {n:,} deals + {n:,} orders: started in {took:.1f} s; "
              f"{pages(sb.url, n)}")
    del records
    t0 = time.process_time()
    make_demo(seed=0, n_deals=n, n_orders=n)
    print(f"make_demo({n:,} + {n:,}): {time.process_time() - t0:.1f} s of CPU")
    t0 = time.perf_counter()
    with Sandbox(seed=0, n_deals=n, n_orders=n, limits=False, latency=False) as sb:
        call(sb.url, "crm.deal.list", {"filter": {">ID": n - 50}, "start": -1})
        took = time.perf_counter() - t0
        print(f"demo portal, {n:,} + {n:,}: first page answered {took:.1f} s after the "
              f"constructor; {pages(sb.url, n)}")


if __name__ == "__main__":
    main()
