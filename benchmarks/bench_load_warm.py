"""Warm reloads: a cold load, 1,000 edits and 100 deletions by another user, a warm reload.

On a sandbox with its realistic costs (limits and latency on, real-time clock), deals,
orders and bindings are loaded with ``load_all(cache=True)`` — all three at once, the
frames saved as parquet — then another user edits 500 deals and 500 orders and deletes 50
of each (with their links and bindings), and the same call runs again: it reads only the
rows modified since the saved mark, the contacts edited since, one count per kind and, when
the count shows deletions, an ID-only list. A cold load after the edits is the reference:
the warm frames must equal it exactly.

Printed: requests and seconds of the cold load, the warm reload and the reference, each
frame's cache line, and whether every warm frame equals the reference.

Usage: ``python benchmarks/bench_load_warm.py [--quick] [--n 200000] [--time-scale 1]``
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
import warnings

import pandas as pd

import b24nb
from b24nb.limits import ScaledClock
from b24nb.load import cache_line
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox


def timed_load(portal: Portal, cache: bool | str) -> tuple[tuple[pd.DataFrame, ...], float, int]:
    before = portal.stats.http_requests
    start = time.perf_counter()
    frames = b24nb.load_all(portal, cache=cache, progress=False)
    return frames, time.perf_counter() - start, portal.stats.http_requests - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 deals and orders")
    ap.add_argument("--n", type=int, default=0, help="deals and orders (default 200,000)")
    ap.add_argument("--time-scale", type=float, default=1.0,
                    help="sandbox clock speed (1: real time; 10: limits and latency 10× faster)")
    args = ap.parse_args()
    n = args.n or (20_000 if args.quick else 200_000)
    logging.getLogger("b24nb").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["B24NB_CACHE"] = tmp
        t0 = time.perf_counter()
        with Sandbox(seed=0, n_deals=n, n_orders=n, time_scale=args.time_scale) as sb:
            boot = time.perf_counter() - t0
            clock = (ScaledClock(args.time_scale, now=sb.clock) if args.time_scale != 1
                     else None)
            portal = Portal(sb.url, progress=False, clock=clock)
            cold, cold_s, cold_r = timed_load(portal, True)
            print(f"{n:,} deals + {n:,} orders (sandbox start {boot:.1f} s, time scale "
                  f"{args.time_scale:g})")
            print(f"cold load, cache=True    {cold_r:>5} requests  {cold_s:7.1f} s")
            deals, orders, _ = cold
            edit_deals = rng.sample(list(deals.index), 550)
            edit_orders = rng.sample(list(orders.index), 550)
            sb.edit("deals", edit_deals[:500], TITLE="edited by a colleague", OPPORTUNITY=1.0)
            sb.edit("orders", edit_orders[:500], price=2.0)
            sb.delete("deals", edit_deals[500:])
            sb.delete("orders", edit_orders[500:])
            warm, warm_s, warm_r = timed_load(portal, True)
            print(f"warm reload after 1,000 edits, 100 deletions "
                  f"{warm_r:>5} requests  {warm_s:7.1f} s")
            for frame in warm:
                print("   ", cache_line(frame))
            ref, ref_s, ref_r = timed_load(portal, False)
            print(f"reference cold load      {ref_r:>5} requests  {ref_s:7.1f} s")
    for name, a, b in zip(("deals", "orders", "bindings"), warm, ref, strict=True):
        try:
            pd.testing.assert_frame_equal(a, b)
            same = "equal to the cold load"
        except AssertionError as err:
            same = f"DIFFERS: {str(err).splitlines()[0]}"
        print(f"{name:<9} {len(a):>8,} rows  {same}")


if __name__ == "__main__":
    main()
