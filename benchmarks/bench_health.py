"""What does a linkage health report cost, and how exact is it on the demo portal?

Starts a demo sandbox (N deals, 1.2·N orders, demo invoices on; limits off, so the figures are
the client's and the sandbox's work, not the rate limit), loads deals, orders, bindings and
both kinds of invoices over HTTP, then runs ``health()`` on the frames. Prints the HTTP
requests and seconds of the load, the seconds of the checks (suggest() included, then apart),
each finding's size, and the exactness of the findings the sandbox knows the truth of.

    python benchmarks/bench_health.py            # 20,000 deals, 24,000 orders
    python benchmarks/bench_health.py --quick    # 2,000 deals, 2,400 orders
"""

from __future__ import annotations

import argparse
import sys
import time

import b24nb
from b24nb.linkage.frames import gather
from b24nb.sandbox import Sandbox


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 deals instead of 20,000")
    ap.add_argument("--deals", type=int, default=None)
    args = ap.parse_args(argv)
    n = args.deals or (2_000 if args.quick else 20_000)

    with Sandbox(seed=0, n_deals=n, n_orders=n * 6 // 5, limits=False, latency=False) as sb:
        portal = b24nb.connect(sb.url, progress=False)
        t0 = time.perf_counter()
        inputs = gather(portal)
        t_load = time.perf_counter() - t0
        requests = portal.stats.http_requests
        frames = {"deals": inputs.deals, "orders": inputs.orders, "bindings": inputs.bindings,
                  "invoices": inputs.invoices}
        t0 = time.perf_counter()
        report = b24nb.health(frames, portal=portal)
        t_all = time.perf_counter() - t0
        t0 = time.perf_counter()
        b24nb.health(frames, portal=portal, pairs=report.suggestions)
        t_checks = time.perf_counter() - t0

        bindings = sb.bindings()
        truth = {
            "unowned": set(range(1, n * 6 // 5 + 1)) - {b["orderId"] for b in bindings},
            "auto_created": {b["orderId"] for b in bindings
                             if b["ownerTypeId"] == 2 and b["ownerId"] in sb.auto_deal_ids},
            "dangling": set(sb.truth_dangling),
        }
        print(f"portal: {n:,} deals, {n * 6 // 5:,} orders, "
              f"{len(inputs.invoices[0]):,} smart + {len(inputs.invoices[1]):,} legacy invoices")
        print(f"load (deals+orders+bindings+invoices, contacts and customers): "
              f"{t_load:.2f} s, {requests} HTTP requests")
        print(f"health() with suggest(): {t_all:.2f} s; checks alone (pairs reused): "
              f"{t_checks:.2f} s; HTTP requests of the checks: "
              f"{portal.stats.http_requests - requests}")
        for name, count in report.counts().items():
            exact = ""
            if name in truth:
                got = set(report.order_ids(name))
                exact = f"  exact vs sandbox truth: {got == truth[name]}"
            print(f"  {name:18s} {count:7,d}{exact}")
        rows = report["auto_created"]
        known = rows[rows.index.isin(list(sb.truth))]
        right = (known["best_owner_id"].fillna(0).to_numpy()
                 == [sb.truth[o] for o in known.index]).mean()
        print(f"orders on auto-created duplicates whose suggested deal is the true one: "
              f"{right:.3f} of {len(known):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
