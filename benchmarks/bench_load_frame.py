"""How fast and how lean is ``load_deals`` on a big portal?

Loads N deals (default 200,000) with the default select from a sandbox portal over HTTP and
prints: HTTP requests against the budget ⌈N/2500⌉ + 3, the wall time of the whole load, and —
the part this package owns — the time and peak memory of turning the listed records into the
typed frame. Peak memory is the process's resident high-water mark above its level before the
conversion (Linux ``VmHWM``, reset through ``/proc/self/clear_refs``), so Arrow's and numpy's
buffers count too, not only Python objects.

    python benchmarks/bench_load_frame.py            # 200,000 deals
    python benchmarks/bench_load_frame.py --quick    # 20,000 deals
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
import tracemalloc
from pathlib import Path

import b24nb
from b24nb.load._convert import typed_frame
from b24nb.load._fields import field_infos
from b24nb.load.deals import DEFAULT_DEAL_SELECT
from b24nb.sandbox import Sandbox


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _time_conversion(portal: b24nb.Portal) -> None:
    """The conversion alone, on the very records the portal sent: time, RSS and tracemalloc."""
    infos = field_infos(portal, "crm.deal.fields")
    select = [f for f in DEFAULT_DEAL_SELECT if f in infos]
    rows = list(portal.list("crm.deal.list", {"select": select}, progress=False))
    gc.collect()
    best = math.inf
    peak_mb = None
    frame_mb = 0.0
    for attempt in range(3):
        gc.collect()
        base = _status_kb("VmRSS")
        tracked = _reset_peak()
        t = time.perf_counter()
        frame = typed_frame(rows, select, infos, id_field="ID", index_name="deal_id")
        best = min(best, time.perf_counter() - t)
        hwm = _status_kb("VmHWM")
        if attempt == 0 and tracked and base is not None and hwm is not None:
            # Memory freed earlier is reused first, so growth can be ~0: that is real.
            peak_mb = max(0, hwm - base) / 1024
            frame_mb = frame.memory_usage(deep=True).sum() / 2**20
        del frame
    # A second view of the peak: every Python and numpy allocation made by the
    # conversion (tracemalloc does not see Arrow's pool, the RSS figure above does).
    tracemalloc.start()
    frame = typed_frame(rows, select, infos, id_field="ID", index_name="deal_id")
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    del frame
    ok_t = "OK" if best < 2.0 else "TOO SLOW"
    print(f"typed frame from {len(rows):,} records: {best:.2f} s (best of 3; limit 2 s) "
          f"{ok_t}")
    if peak_mb is not None:
        ok_m = "OK" if peak_mb < 1024 else "TOO BIG"
        print(f"peak memory of the conversion: resident set grew {peak_mb:,.0f} MB above "
              f"the {base / 1024:,.0f} MB held before it (limit 1 GB) {ok_m}; "
              f"the typed frame itself is {frame_mb:,.0f} MB")
    else:
        print("peak memory: not measurable on this OS (needs /proc/self/clear_refs)")
    print(f"peak of Python/numpy allocations during the conversion (tracemalloc): "
          f"{traced_peak:,.0f} MB")
    del rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 deals instead of 200,000")
    ap.add_argument("--deals", type=int, default=None)
    ap.add_argument("--contacts", action="store_true",
                    help="also time a load with contacts=True (more requests, reported apart)")
    args = ap.parse_args(argv)
    n = args.deals or (20_000 if args.quick else 200_000)

    t0 = time.perf_counter()
    with Sandbox(seed=0, n_deals=n, n_orders=max(2, n // 100), limits=False,
                 latency=False) as sb:
        print(f"sandbox with {n:,} deals ready in {time.perf_counter() - t0:.1f} s")
        portal = b24nb.connect(sb.url, progress=False)

        sb.stats.reset()
        gc.collect()
        before = _status_kb("VmRSS")
        tracked = _reset_peak()
        t = time.perf_counter()
        deals = b24nb.load_deals(portal, contacts=False, progress=False)
        wall = time.perf_counter() - t
        hwm = _status_kb("VmHWM")
        requests = sb.stats.http_requests
        budget = math.ceil(len(deals) / 2500) + 3
        ok = "OK" if requests <= budget else "OVER BUDGET"
        print(f"load_deals(contacts=False): {len(deals):,} rows, {wall:.1f} s wall, "
              f"{requests} HTTP requests (budget ⌈N/2500⌉+3 = {budget}) {ok}")
        if tracked and before is not None and hwm is not None:
            print(f"  resident set grew at most {max(0, hwm - before) / 1024:,.0f} MB during the "
                  f"whole call (records, frame, and the in-process sandbox answering)")

        del deals
        _time_conversion(portal)

        if args.contacts:
            sb.stats.reset()
            t = time.perf_counter()
            deals = b24nb.load_deals(portal, progress=False)
            wall = time.perf_counter() - t
            distinct = deals["CONTACT_ID"].nunique()
            print(f"load_deals(contacts=True): {wall:.1f} s wall, "
                  f"{sb.stats.http_requests} HTTP requests for {len(deals):,} deals and "
                  f"{distinct:,} distinct contacts (budget ⌈N/2500⌉+3+⌈C/2500⌉ = "
                  f"{budget + math.ceil(distinct / 2500)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
