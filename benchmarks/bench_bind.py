"""Benchmark: bind 10,000 orders on the sandbox portal with its latency model and limits on.

Prints the HTTP requests (target: at most 201 plus retries — one read of the current owners
and 200 batches of 50 writes — against 10,000 for one call per pair), the wall time, and the
time spent waiting on the portal's limits.

The sandbox runs on a scaled clock (``--scale``, default 20: every server second and every
limit wait takes 1/20 of the time), so the wall time is also shown converted to a real portal.

Usage::

    python benchmarks/bench_bind.py            # 10,000 bindings
    python benchmarks/bench_bind.py --quick    # 1,000 bindings, faster clock
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

import pandas as pd

import b24nb
from b24nb.limits import ScaledClock
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 bindings on a faster clock")
    ap.add_argument("-n", type=int, default=None, help="bindings (default 10,000)")
    ap.add_argument("--scale", type=float, default=None, help="sandbox time_scale (default 20)")
    ap.add_argument("--progress", action="store_true", help="show the progress bar")
    args = ap.parse_args()
    n = args.n or (1000 if args.quick else 10_000)
    scale = args.scale or (100.0 if args.quick else 20.0)
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
        portal = Portal(sb.url, progress=False, clock=ScaledClock(scale))
        sb.stats.reset()
        t0 = time.perf_counter()
        summary = b24nb.bind(portal, pairs, journal=journal, progress=args.progress)
        wall = time.perf_counter() - t0
        bound = len(sb.bindings())
        stats = portal.stats
        print(f"bindings            {summary['bound']:,} bound ({bound:,} on the portal)")
        print(
            f"HTTP requests       {stats.http_requests} (server saw {sb.stats.http_requests}; "
            f"target <= {n // 50 + 1} plus retries; one call per pair would be {n:,})"
        )
        print(f"retries             {stats.retries}")
        print(f"refused by portal   503: {sb.stats.refused_503}, 429: {sb.stats.refused_429}")
        print(
            f"wall time           {wall:.1f} s at time_scale {scale:g} "
            f"(~{wall * scale:.0f} s on a real portal)"
        )
        print(
            f"waited on limits    {stats.waited_seconds:.0f} s of portal time "
            f"({stats.waited_seconds / scale:.1f} s wall)"
        )
        print(f"journal             {os.path.getsize(journal) / 1e6:.1f} MB at {journal}")
        portal.close()


if __name__ == "__main__":
    main()
