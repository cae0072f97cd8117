"""Benchmark: bind 10,000 orders on the sandbox portal with the seed's cost model and limits on.

Each ``crm.orderentity.add`` costs the seed's 0.3278 s of server time, counted against the
per-method operating budget (480 s per 10 minutes), so a large run is bound by that budget
and not by the request bucket. Prints the HTTP requests (target: at most 401 plus retries —
one read of the current owners, 200 batches of 50, and the guard's re-read of each batch's
owners just before it is sent, issue 11), the wall time, the time spent waiting
and why, and the lower bound the portal's limits imply (an ideal client with every batch it
may send in flight, filling the budget to the limit); the run must stay within 1.15 × that
bound and provoke no 503 and no 429.

The sandbox runs on a scaled clock (``--scale``; every server second and every wait takes
1/scale of the time); figures are shown in portal time and in wall time.

Usage::

    python benchmarks/bench_bind.py            # 10,000 bindings, time_scale 40
    python benchmarks/bench_bind.py --quick    # 2,000 bindings, time_scale 40
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections import Counter

import pandas as pd

import b24nb
from b24nb.binding.pace import IN_FLIGHT, estimate, format_duration
from b24nb.limits import ScaledClock
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 bindings")
    ap.add_argument("-n", type=int, default=None, help="bindings (default 10,000)")
    ap.add_argument("--scale", type=float, default=None, help="sandbox time_scale")
    ap.add_argument("--in-flight", type=int, default=IN_FLIGHT, help="batches at once")
    ap.add_argument("--progress", action="store_true", help="show the progress bar")
    args = ap.parse_args()
    n = args.n or (2000 if args.quick else 10_000)
    scale = args.scale or 40.0  # faster clocks magnify the client's own CPU time into portal time
    logging.basicConfig(level=logging.WARNING)

    deals = [{"ID": i, "TITLE": f"Deal {i}"} for i in range(1, n + 1)]
    orders = [{"id": i, "accountNumber": f"A-{i}", "price": 10.0} for i in range(1, n + 1)]
    journal = os.path.join(tempfile.mkdtemp(prefix="b24nb-bench-"), "journal.sqlite")
    pairs = pd.DataFrame(
        {
            "deal_id": pd.array(range(1, n + 1), dtype="Int64"),
            "order_id": pd.array(range(1, n + 1), dtype="Int64"),
            "owner_type_id": pd.array([2] * n, dtype="Int64"),
            "selected": pd.array([True] * n, dtype="boolean"),
        },
        index=pd.Index(range(n), name="pair_id", dtype="Int64"),
    )
    with Sandbox(
        demo=False, deals=deals, orders=orders, limits=True, latency=True, time_scale=scale
    ) as sb:
        cost = sb.latency.bind
        portal = Portal(sb.url, progress=False, clock=ScaledClock(scale, now=sb.clock))
        waits: Counter[str] = Counter()

        def on_wait(seconds: float, reason: str) -> None:
            waits[reason.split(":")[0]] += 1

        portal.limiter.add_listener(on_wait)
        sb.stats.reset()
        t0 = time.perf_counter()
        summary = b24nb.bind(portal, pairs, journal=journal, progress=args.progress,
                             in_flight=args.in_flight)
        wall = time.perf_counter() - t0
        bound = len(sb.bindings())
        stats = portal.stats
        ideal = estimate(n, cost=cost, in_flight=50, margin=0.0)
        ours = summary.eta
        ratio = wall * scale / ideal.seconds
        print(f"bindings            {summary['bound']:,} bound ({bound:,} on the portal)")
        print(
            f"HTTP requests       {stats.http_requests} (server saw {sb.stats.http_requests}; "
            f"target <= {2 * (n // 50) + 1} plus retries: {n // 50} batches, as many guard "
            f"re-reads, 1 owner read; one call per pair would be {n:,})"
        )
        print(f"retries             {stats.retries}")
        print(f"refused by portal   503: {sb.stats.refused_503}, 429: {sb.stats.refused_429}")
        print(f"server time         {cost:.4f} s per add ({n * cost:,.0f} s in all)")
        print(
            f"wall time           {wall:.1f} s at time_scale {scale:g} "
            f"= {format_duration(wall * scale)} of portal time ({wall * scale:,.0f} s)"
        )
        print(
            f"waited on limits    {stats.waited_seconds:,.0f} s of portal time "
            f"({stats.waited_seconds / scale:.1f} s wall)"
        )
        for why, times in waits.most_common():
            print(f"  why               {why} ({times} waits announced)")
        print(
            f"bound by limits     {ideal.seconds:,.0f} s ({ideal.text}; every batch the "
            "bucket allows in flight, budget filled to the limit)"
        )
        if ours is not None:
            print(f"ETA said before     {ours.seconds:,.0f} s ({ours.text})")
        print(f"wall / bound        {ratio:.3f} (must be <= 1.15)")
        print(f"journal             {os.path.getsize(journal) / 1e6:.1f} MB at {journal}")
        portal.close()


if __name__ == "__main__":
    main()
