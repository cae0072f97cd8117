"""Benchmark b24nb.suggest: quality against the demo truth, speed, memory, blocking gain.

Run ``python benchmarks/bench_match.py`` (full) or ``--quick``. It prints:

1. quality on the sandbox demo portal loaded over HTTP with ``b24nb.load_*`` (2,000 deals ×
   2,400 orders): precision of pre-ticked pairs and
   recall of all suggestions against ``sb.truth`` (orders already bound to their true deal
   need no suggestion and are left out of recall);
2. speed and peak memory at 100,000 deals × 120,000 orders (quick: 20,000 × 24,000), in a
   fresh process so the peak RSS is the matcher's plus its input frames. These frames are
   built in-process from the same demo generator (``b24nb.match.demo_frames``), because
   loading 220,000 records over HTTP would time the sandbox, not the matcher;
3. the ratio against a naive cross join (every deal × every order scored with the same
   evidence) on a 2,000 × 2,000 subset.

Targets (issue 5): precision ≥ 0.98, recall ≥ 0.95, 100k × 120k in ≤ 10 s and ≤ 2 GB.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

import b24nb
from b24nb.match import suggest
from b24nb.match._block import BIT
from b24nb.match._prep import prepare
from b24nb.match._score import evidence, total
from b24nb.testing import demo_frames, score_against_truth


def quality_over_http(n_deals: int, n_orders: int, seed: int) -> dict[str, float]:
    from b24nb.sandbox import Sandbox

    with Sandbox(seed=seed, n_deals=n_deals, n_orders=n_orders, limits=False,
                 latency=False) as sb:
        portal = b24nb.connect(sb.url, progress=False)
        start = time.perf_counter()
        deals = b24nb.load_deals(portal, progress=False)
        orders = b24nb.load_orders(portal, progress=False)
        bindings = b24nb.load_bindings(portal, progress=False)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        pairs = suggest(deals, orders, bindings)
        took = time.perf_counter() - start
        out = score_against_truth(pairs, sb.truth, bindings)
        out.update(load_s=loaded, suggest_s=took, http_requests=float(sb.stats.http_requests),
                   rebind=float(pairs["rebind"].sum()), ambiguous=float(pairs["ambiguous"].sum()))
        return out


def _child(path: str) -> None:
    """In a fresh process: read the frames, run suggest, report time and peak RSS."""
    with open(path, "rb") as fh:
        deals, orders, bindings, truth = pickle.load(fh)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    pairs = suggest(deals, orders, bindings)
    took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q = score_against_truth(pairs, truth, bindings)
    # The process peak may be set by reading the input; tracemalloc (numpy reports to it)
    # isolates what suggest() itself allocates at most, in a second, untimed run.
    tracemalloc.start()
    suggest(deals, orders, bindings)
    own = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{took:.3f} {base:.0f} {peak:.0f} {q['precision_selected']:.4f} "
          f"{q['recall_all']:.4f} {len(pairs)} {q['selected']:.0f} {own:.0f}")


def speed(n_deals: int, n_orders: int, seed: int) -> dict[str, float]:
    frames = demo_frames(seed, n_deals, n_orders)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "frames.pkl")
        with open(path, "wb") as fh:
            pickle.dump(frames, fh)
        del frames
        out = subprocess.run([sys.executable, __file__, "--child", path], check=True,
                             capture_output=True, text=True).stdout.split()
    took, base, peak, prec, rec, n_pairs, n_sel, own = map(float, out)
    return {"suggest_s": took, "rss_frames_mb": base, "rss_peak_mb": peak, "own_mb": own,
            "precision_selected": prec, "recall_all": rec, "pairs": n_pairs, "selected": n_sel}


def naive_ratio(n: int, seed: int) -> dict[str, float]:
    """Blocked suggest() vs scoring every deal × order with the same evidence."""
    deals, orders, bindings, _ = demo_frames(seed, n, int(n * 1.2))
    deals, orders = deals.iloc[:n], orders.iloc[:n]
    start = time.perf_counter()
    suggest(deals, orders, bindings)
    blocked = time.perf_counter() - start

    start = time.perf_counter()
    d, o = prepare(deals, orders)
    di = np.repeat(np.arange(len(d.ids)), len(o.ids))
    oi = np.tile(np.arange(len(o.ids)), len(d.ids))
    cross = pd.DataFrame({"d": di, "o": oi})
    bits = np.zeros(len(cross), dtype=np.uint8)
    for kind, bit in (("emails", BIT["email"]), ("phones", BIT["phone"])):
        dk = getattr(d, kind).drop_duplicates("row").set_index("row")["key"]
        ok = getattr(o, kind).drop_duplicates("row").set_index("row")["key"]
        a = dk.reindex(cross["d"]).to_numpy()
        b = ok.reindex(cross["o"]).to_numpy()
        bits |= np.where(pd.notna(a) & (a == b), bit, 0).astype(np.uint8)
    score = total(evidence(d, o, di, oi, bits))
    best = pd.Series(score).groupby(oi).max()  # the naive "best deal per order"
    naive = time.perf_counter() - start
    return {"blocked_s": blocked, "naive_s": naive, "ratio": naive / blocked,
            "naive_pairs": float(len(di)), "orders_scored": float(len(best))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child)
        return

    for n_d, n_o in [(2000, 2400)]:
        q = quality_over_http(n_d, n_o, args.seed)
        print(f"quality {n_d:,} deals × {n_o:,} orders (sandbox over HTTP, load_*): "
              f"precision of pre-ticked {q['precision_selected']:.4f} "
              f"({q['selected']:.0f} pre-ticked), recall of all suggestions "
              f"{q['recall_all']:.4f} ({q['need']:.0f} orders to find), {q['pairs']:.0f} pairs, "
              f"{q['rebind']:.0f} rebinds, {q['ambiguous']:.0f} ambiguous; "
              f"load {q['load_s']:.1f} s in {q['http_requests']:.0f} HTTP requests, "
              f"suggest {q['suggest_s']:.2f} s")

    n_d, n_o = (20000, 24000) if args.quick else (100000, 120000)
    s = speed(n_d, n_o, args.seed)
    print(f"speed {n_d:,} deals × {n_o:,} orders: suggest {s['suggest_s']:.2f} s, peak RSS "
          f"{s['rss_peak_mb']:.0f} MB (after reading the input {s['rss_frames_mb']:.0f} MB; "
          f"suggest's own allocations peak at {s['own_mb']:.0f} MB); "
          f"{s['pairs']:.0f} pairs, {s['selected']:.0f} pre-ticked, precision "
          f"{s['precision_selected']:.4f}, recall {s['recall_all']:.4f}")

    r = naive_ratio(2000, args.seed)
    print(f"naive cross join 2,000 × 2,000 ({r['naive_pairs']:,.0f} pairs scored): "
          f"{r['naive_s']:.2f} s vs blocked suggest {r['blocked_s']:.3f} s → "
          f"{r['ratio']:.1f}× faster")


if __name__ == "__main__":
    main()
