"""Full-list load: b24nb vs fast_bitrix24 ``get_all`` vs b24pysdk ``as_list_fast``.

Each client lists every deal (``select ID, TITLE``) of a sandbox portal with its latency model
and limits on (bucket 50/2 s⁻¹, operating time 480 s per 10 min, real-time clock). Each run gets
a fresh sandbox from the same seed, so no client inherits a drained bucket or a spent
operating budget from the one before. The sandbox runs in a child process so that its JSON work
does not compete with the client for one interpreter lock, and it serves concurrent requests
in parallel (a threading server; each request's server time is a wait outside every lock).

Two models of offset pages (``--models``): ``flat`` — the sandbox's default costs (32 ms a page,
10 ms more for a page that counts its ``total``) whatever the depth; ``depth`` — plus 1 µs per
row of offset and per row counted, as deep ``LIMIT … OFFSET`` pages and ``COUNT(*)`` cost on a
big real table. (``cpu``: no server time at all, to see each client's own work.)

Printed per client, model and size: rows returned, seconds, rows/s, HTTP requests (counted by
the sandbox), the request bound ⌈N/2500⌉+3, 503/429 refusals, ``bucket%`` — the share of the
bucket's bound reached (the least time an ID walk of ⌈N/2500⌉+1 requests could take: every
request beyond the burst at the drain rate, plus one batch of 50 pages), and failure (an
exception, or rows that are not exactly the N distinct IDs).

Usage: ``python benchmarks/bench_load.py [--quick] [--sizes 20000,100000] [--models flat]``
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

SELECT = ["ID", "TITLE"]


PAGE_SECONDS = 0.032  # the sandbox's default list page: 2 ms call + 30 ms page
MODELS = {"flat": {"per_offset_row": 0.0, "per_counted_row": 0.0},
          "depth": {"per_offset_row": 1e-6, "per_counted_row": 1e-6},
          # no server time at all: what each client's own work and the sandbox's CPU cost
          "cpu": {"call": 0.0, "page": 0.0, "per_offset_row": 0.0, "count": 0.0,
                  "per_counted_row": 0.0}}


def serve(n: int, model: str) -> None:
    """Child process: serve a sandbox, answer 'stats' on stdin, stop on 'quit'."""
    from b24nb.sandbox import Latency, Sandbox

    latency = Latency(**MODELS[model])
    with Sandbox(seed=7, n_deals=n, n_orders=10, limits=True, latency=latency) as sb:
        print(sb.url, flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "stats":
                s = sb.stats
                print(json.dumps({"http_requests": s.http_requests, "refused_503": s.refused_503,
                                  "refused_429": s.refused_429}), flush=True)
            elif cmd == "quit":
                break


class Child:
    """A sandbox in a child process."""

    def __init__(self, n: int, model: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(n), "--models", model],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def stats(self) -> dict[str, int]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def run_b24nb(url: str) -> list[dict[str, Any]]:
    from b24nb.portal import Portal

    with Portal(url, progress=False) as portal:
        return list(portal.list("crm.deal.list", {"select": SELECT}))


def run_fast_bitrix24(url: str) -> list[dict[str, Any]]:
    from fast_bitrix24 import Bitrix

    return Bitrix(url, verbose=False).get_all("crm.deal.list", params={"select": SELECT})


def run_b24pysdk(url: str) -> list[dict[str, Any]]:
    # b24pysdk builds https://{domain}/rest; point it at the loopback sandbox over http
    caller = importlib.import_module("b24pysdk.api.callers.call_method")
    caller._MethodCaller._base_url = property(lambda self: f"http://{self._domain}/rest")
    from b24pysdk import BitrixWebhook, Client

    host = url.split("/")[2]
    token = "/".join(url.rstrip("/").split("/")[-2:])
    client = Client(BitrixWebhook(domain=host, webhook_token=token))
    return list(client.crm.deal.list(select=SELECT).as_list_fast().result)


CLIENTS: dict[str, Callable[[str], list[dict[str, Any]]]] = {
    "b24nb list": run_b24nb,
    "fast_bitrix24 get_all": run_fast_bitrix24,
    "b24pysdk as_list_fast": run_b24pysdk,
}


def bucket_bound(n: int) -> float:
    """The least seconds an ID walk needs: requests beyond the burst at 2/s, plus one batch.

    An ID walk needs ⌈N/2500⌉ batches of 50 pages plus one probe (the count and the top ID).
    """
    requests = math.ceil(n / 2500) + 1
    return max(0, requests - 50) / 2.0 + 50 * PAGE_SECONDS


def measure(name: str, n: int, model: str) -> dict[str, Any]:
    child = Child(n, model)
    try:
        t0 = time.perf_counter()
        error = ""
        rows: list[dict[str, Any]] = []
        try:
            rows = CLIENTS[name](child.url)
        except Exception as exc:  # a failing client is a result, not a crash of the bench
            error = f"{type(exc).__name__}: {str(exc)[:80]}"
        seconds = time.perf_counter() - t0
        stats = child.stats()
    finally:
        child.close()
    ids = {int(r["ID"]) for r in rows} if isinstance(rows, list) else set()
    if not error and (len(rows) != n or len(ids) != n):
        error = f"returned {len(rows)} rows, {len(ids)} distinct"
    return {"client": name, "n": n, "rows": len(rows), "seconds": seconds,
            "rows_per_s": len(rows) / seconds if not error else 0.0, **stats,
            "failure": error or "-"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 deals only")
    ap.add_argument("--sizes", default="", help="comma-separated deal counts")
    ap.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated clients")
    ap.add_argument("--models", default="flat,depth", help="offset page models: flat,depth")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per client and size, interleaved; the median run is printed "
                         "(a loaded machine makes single runs noisy)")
    ap.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    # fast_bitrix24 leaves tasks behind when get_all fails; their tracebacks would bury the
    # table, and the failure itself is already in it
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    if args.serve:
        serve(args.serve, args.models)
        return
    sizes = ([int(s) for s in args.sizes.split(",") if s] if args.sizes
             else [20_000] if args.quick else [20_000, 100_000, 250_000])
    names = [c.strip() for c in args.clients.split(",") if c.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    head = (f"{'client':<24}{'model':>6}{'N':>8}{'rows':>8}{'seconds':>9}{'rows/s':>9}"
            f"{'HTTP':>6}{'bound':>7}{'503':>5}{'429':>5}{'bucket%':>8}  failure")
    print(head)
    print("-" * len(head))
    for model in models:
        for n in sizes:
            best_peer = 0.0
            ours = 0.0
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
            for _ in range(max(1, args.repeat)):
                for name in names:
                    runs[name].append(measure(name, n, model))
            for name in names:
                ordered = sorted(runs[name], key=lambda r: r["seconds"])
                r = ordered[len(ordered) // 2]
                if len(ordered) > 1:
                    r["failure"] = r["failure"] if r["failure"] != "-" else (
                        "-  (runs: " + ", ".join(f"{x['seconds']:.1f}" for x in runs[name])
                        + " s)")
                bound = math.ceil(n / 2500) + 3
                share = (100 * bucket_bound(n) / r["seconds"] if r["failure"].startswith("-")
                         else 0.0)
                print(f"{r['client']:<24}{model:>6}{n:>8}{r['rows']:>8}{r['seconds']:>9.1f}"
                      f"{r['rows_per_s']:>9.0f}{r['http_requests']:>6}{bound:>7}"
                      f"{r['refused_503']:>5}{r['refused_429']:>5}{share:>7.0f}%"
                      f"  {r['failure']}", flush=True)
                if name.startswith("b24nb"):
                    ours = r["rows_per_s"]
                else:
                    best_peer = max(best_peer, r["rows_per_s"])
            if ours and best_peer:
                print(f"{'':<24}{model:>6}{n:>8}  b24nb / best peer = {ours / best_peer:.2f}×",
                      flush=True)


if __name__ == "__main__":
    main()
