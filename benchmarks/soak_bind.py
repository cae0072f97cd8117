"""Soak: bind 5,000 pairs with faults on while a colleague changes 5 % of the orders' owners.

The colleague is a thread writing through plain HTTP (``b24nb.testing.call``) at random
moments spread over the run — binding orders to its own deals or removing their bindings,
ahead of the run and behind it. The run binds with ``allow_rebind=True`` (a tenth of the
orders start bound to an old owner, moved on purpose and journaled), then ``unbind()`` undoes
everything. Printed counts:

- **silent moves**: b24nb adds that replaced an owner the journal did not record as the one
  replaced (read from the sandbox's own log of every binding change) — must be 0;
- **lost owners after undo**: orders whose owner after ``unbind()`` is not the one they would
  have without b24nb (the colleague's last write, else the starting owner) — must be 0;
- **held back**: orders the guard's re-read found changed since planning (``needs_rebind``
  after the first run; a rerun re-plans them and, with ``allow_rebind``, moves them knowingly);
- **disagreements**: rows where frame, journal and portal differ (orders the colleague left
  alone) — must be 0;
- **the window**: seconds from the guard's re-read answer to the answer of the batch it
  guarded (median, 95th percentile, max), as the client sees it.

Usage::

    python benchmarks/soak_bind.py            # 5,000 pairs
    python benchmarks/soak_bind.py --quick    # 1,000 pairs
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

import b24nb
from b24nb.journal import Journal
from b24nb.limits import ScaledClock
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox
from b24nb.sandbox.sale import binding_changes
from b24nb.testing import binding_disagreements, call, make_pairs

COLLEAGUE = 9000  # the colleague's deals are 9000..9499; ours are deal o for order o
OLD = 20_000  # the starting owners of the pre-bound orders: deal 20000 + o


class Colleague(threading.Thread):
    """Writes to ``victims`` over plain HTTP, each once the run has passed a random point."""

    def __init__(self, url: str, victims: list[int], n: int, seed: int) -> None:
        super().__init__(name="colleague", daemon=True)
        rng = random.Random(seed)
        self.url, self.rng = url, rng
        self.plan = sorted((rng.uniform(0, n), v) for v in victims)
        self.done = 0
        self.handled = 0  # plan entries written (or given up)
        self.progress = 0  # pairs the run has finished (fed by on_update)
        self.stop = threading.Event()
        self.last: dict[int, tuple[int, int] | None] = {}

    def run(self) -> None:
        for at, v in self.plan:
            while self.progress < at and not self.stop.is_set():
                time.sleep(0.005)
            if self.stop.is_set():
                return
            time.sleep(self.rng.uniform(0, 0.05))
            self._write(v)
            self.handled += 1

    def keep_up(self, timeout: float = 10.0) -> None:
        """Wait (called before each guard re-read) until every write due is written.

        Without it the colleague's pace decides what the run meets: on a loaded machine its
        plain-HTTP writes (with the same faults and limits) fall behind a fast run and every
        change lands after the order's batch, so the guard never has anything to catch. The
        run's other batches stay in flight meanwhile, so writes still meet batches mid-way.
        """
        due = sum(1 for at, _ in self.plan if at <= self.progress)
        deadline = time.monotonic() + timeout
        while self.handled < due and self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)

    def _write(self, v: int) -> None:
        """One change: remove the binding (3 in 10) or bind to the colleague's deal.

        The colleague meets the same faults as b24nb; after each try it reads the order back
        (until a read succeeds) and tries again until the portal holds what it wrote, so
        ``last`` is exactly the colleague's last change.
        """
        rows = self._owner(v)
        fields = rows[0] if rows and self.rng.random() < 0.3 else None
        want = None if fields else (COLLEAGUE + v % 500, 2)
        for _ in range(10):
            try:
                if fields:
                    call(self.url, "crm.orderentity.deleteByFilter", {"fields": fields})
                else:
                    call(self.url, "crm.orderentity.add", {"fields": {
                        "orderId": v, "ownerId": want[0], "ownerTypeId": 2}})  # type: ignore[index]
            except requests.RequestException:
                pass
            rows = self._owner(v)
            now = (rows[0]["ownerId"], rows[0]["ownerTypeId"]) if rows else None
            if now == want:
                self.last[v] = want
                self.done += 1
                return
            if fields and now != (fields["ownerId"], fields["ownerTypeId"]):
                return  # someone else (b24nb) changed it meanwhile: nothing left to delete

    def _owner(self, v: int) -> list[dict[str, int]]:
        for _ in range(50):
            try:
                r = call(self.url, "crm.orderentity.list", {"filter": {"orderId": v}})
                if r.status_code == 200:
                    return r.json()["result"]["orderEntity"]
            except requests.RequestException:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"the colleague could not read order {v}")


def _windows(portal: Portal, reads: dict[int, float], sent: list[float],
             before_read: Callable[[], None] = lambda: None) -> list[float]:
    """Spy on the portal's batches: seconds from each guard re-read to its batch's answer.

    ``sent`` gets the seconds from each re-read's answer to its write batch leaving the
    client (the sandbox runs a batch's commands when it arrives, so this is the window it
    leaves open); ``reads`` gets, per order, the server's time of its last guard re-read.
    Batches run several at a time, so a write batch is paired with the re-read of *its*
    orders (the latest re-read answered for any of them), not with whichever came last.
    ``before_read`` runs before each guard re-read is sent (the colleague catching up).
    """
    real, gaps = portal.batch, []
    answered: dict[int, float] = {}  # order -> monotonic time its guard re-read was answered
    lock = threading.Lock()

    def batch(cmds, *, halt=False):
        items = dict(cmds)
        methods = {m for m, _ in items.values()}
        writes = methods & {"crm.orderentity.add", "crm.orderentity.deleteByFilter"}
        orders = [_order_of(p) for _, p in items.values()]
        guard_read = all(m == "crm.orderentity.list" and "orderId" in p.get("filter", {})
                         for m, p in items.values())
        if guard_read:
            before_read()
        with lock:
            seen = [answered[o] for o in orders if o in answered] if writes else []
        if seen:
            sent.append(time.monotonic() - max(seen))  # the window as the sandbox has it
        out = real(cmds, halt=halt)
        if guard_read:
            now = time.monotonic()
            # the sandbox runs a batch's commands at once when it arrives (their "time"
            # objects add up costs after it): the first command's start is when all ran
            starts = [float(r.time["start"]) for r in out.values() if "start" in (r.time or {})]
            with lock:
                for o in orders:
                    answered[o] = now
                    if starts:
                        reads[o] = min(starts)
        elif seen:
            gaps.append(time.monotonic() - max(seen))
        return out

    portal.batch = batch  # type: ignore[method-assign]
    return gaps


def _order_of(params: dict[str, Any]) -> int:
    """The order a guard read or a write is about (-1 when it names none)."""
    flt = params.get("filter") or params.get("fields") or {}
    try:
        return int(flt.get("orderId", -1))
    except (TypeError, ValueError):
        return -1


def silent_moves(sb: Sandbox, journal: Journal, n: int, reads: dict[int, float]
                 ) -> tuple[list[int], list[int]]:
    """b24nb adds (deal o for order o) that replaced an owner the journal did not record.

    Returns the orders of those moves, split: replaced owners set *after* the guard's last
    re-read of the order (the window no client can close), and set *before* it (a miss of
    the guard: must never happen).
    """
    recorded: dict[int, set[tuple[Any, Any]]] = {}
    for ev in journal.events():
        if ev["event"] == "send" and ev["action"] == "bind":
            recorded.setdefault(ev["order_id"], set()).add(
                (ev["prev_owner_id"], ev["prev_owner_type_id"]))
    set_at: dict[int, float] = {}
    window: list[int] = []
    missed: list[int] = []
    for ch in binding_changes(sb._backend.store):
        o = ch["orderId"]
        ours = o <= n and ch["ownerId"] == o and ch["ownerTypeId"] == 2
        if ours and (ch["oldOwnerId"], ch["oldOwnerTypeId"]) not in recorded.get(o, set()):
            late = set_at.get(o, float("-inf")) > reads.get(o, float("inf"))
            (window if late else missed).append(o)
        set_at[o] = ch["at"]
    return window, missed


def run_soak(n: int = 5000, share: float = 0.05, *, seed: int = 0, scale: float = 100.0,
             faults: bool = True, journal_path: str | Path | None = None) -> dict[str, Any]:
    """Run the soak; return its counts (see the module docstring)."""
    rng = random.Random(seed)
    deals = [{"ID": i, "TITLE": f"d{i}"} for i in range(1, n + 1)]
    deals += [{"ID": COLLEAGUE + i, "TITLE": f"c{i}"} for i in range(500)]
    orders = [{"id": i, "accountNumber": f"A{i}", "price": 1.0} for i in range(1, n + 1)]
    prebound = sorted(rng.sample(range(1, n + 1), n // 10))
    start = {o: (OLD + o, 2) for o in prebound}
    bindings = [{"orderId": o, "ownerId": w, "ownerTypeId": t} for o, (w, t) in start.items()]
    victims = rng.sample(range(1, n + 1), int(n * share))
    journal_path = journal_path or Path(tempfile.mkdtemp(prefix="b24nb-soak-")) / "j.sqlite"
    with Sandbox(demo=False, deals=deals, orders=orders, bindings=bindings, limits=True,
                 latency=True, time_scale=scale) as sb, Journal(journal_path) as journal:
        if faults:
            for kind, p, after, s in (("503", 0.05, False, 1), ("500", 0.02, True, 2),
                                      ("reset", 0.02, True, 3), ("reset", 0.01, False, 4),
                                      ("500", 0.01, False, 5)):
                sb.faults.add(method="*", kind=kind, p=p, seed=seed + s, after=after)
        portal = Portal(sb.url, progress=False, clock=ScaledClock(scale, now=sb.clock))
        reads: dict[int, float] = {}
        sent: list[float] = []
        colleague = Colleague(sb.url, victims, n, seed)
        # the colleague catches up before each guard re-read, outside the run's frame lock,
        # so its wait never sits between a re-read and the batch it guards
        gaps = _windows(portal, reads, sent, before_read=colleague.keep_up)
        pairs = make_pairs(range(1, n + 1))

        def on_update(ids: list[Any]) -> None:
            # pairs with a final answer (the run's first update marks every row "pending",
            # which is not progress); called under the run's frame lock, so the frame is whole
            colleague.progress = int((pairs["bind_status"] != "pending").sum())

        t0 = time.perf_counter()
        colleague.start()
        summary = b24nb.bind(portal, pairs, journal=journal, progress=False, allow_rebind=True,
                             on_update=on_update)
        # counted now: a rerun below plans from owners read afresh, so with allow_rebind it
        # rebinds the orders held back here, on purpose and journaled (no longer held)
        held = int((pairs["bind_status"] == "needs_rebind").sum())
        for _ in range(3):  # a rerun finishes what the faults stopped (nothing twice)
            if not (pairs["bind_status"] == "failed").any():
                break
            summary = b24nb.bind(portal, pairs, journal=journal, progress=False,
                                 allow_rebind=True)
        bind_seconds = time.perf_counter() - t0
        colleague.stop.set()
        colleague.join(timeout=30)
        touched = set(colleague.last)
        quiet = pairs.index[~pairs["order_id"].isin(touched)]
        disagreements = binding_disagreements(sb, pairs, journal, rows=quiet)
        in_window, missed = silent_moves(sb, journal, n, reads)
        counts = dict(summary.counts)
        sb.faults.clear()  # the undo runs on a calm portal; its own faults are tested elsewhere
        undo = b24nb.unbind(portal, pairs, journal=journal, progress=False)
        now = {b["orderId"]: (b["ownerId"], b["ownerTypeId"]) for b in sb.bindings()}
        expected = {o: colleague.last.get(o, start.get(o)) if o in touched else start.get(o)
                    for o in range(1, n + 1)}
        lost_orders = [o for o in range(1, n + 1) if now.get(o) != expected[o]]
        lost = len(lost_orders)
        gaps_sorted = sorted(gaps) or [0.0]
        return {
            "pairs": n, "colleague_writes": colleague.done, "bind": counts,
            "unbind": dict(undo.counts), "held_back": held,
            "silent_moves": len(in_window) + len(missed), "window_hits": len(in_window),
            "guard_misses": len(missed),
            "lost_outside_window": len(set(lost_orders) - set(in_window)),
            "lost_owners": lost, "disagreements": len(disagreements),
            "faults_injected": sb.stats.faults_injected, "http_requests": sb.stats.http_requests,
            "bind_seconds": bind_seconds, "scale": scale,
            "window_median": statistics.median(gaps_sorted),
            "window_p95": gaps_sorted[int(0.95 * (len(gaps_sorted) - 1))],
            "window_max": gaps_sorted[-1], "windows": len(gaps),
            "sent_median": statistics.median(sent or [0.0]),
            "sent_max": max(sent or [0.0]),
            "lost_orders": lost_orders, "journal": str(journal_path),
            "changes": binding_changes(sb._backend.store),
            "expected": {o: expected[o] for o in lost_orders},
            "now": {o: now.get(o) for o in lost_orders},
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 pairs")
    ap.add_argument("-n", type=int, default=None, help="pairs (default 5,000)")
    ap.add_argument("--share", type=float, default=0.05, help="orders the colleague changes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=100.0, help="sandbox time_scale")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    n = args.n or (1000 if args.quick else 5000)
    r = run_soak(n, args.share, seed=args.seed, scale=args.scale)
    print(f"soak: {r['pairs']} pairs, {r['colleague_writes']} colleague writes over plain HTTP "
          f"during the run, {r['faults_injected']} faults injected, {r['http_requests']} HTTP "
          f"requests, bind {r['bind_seconds']:.1f} s wall (time_scale {r['scale']:g})")
    print(f"  bind:   {r['bind']}")
    print(f"  unbind: {r['unbind']}")
    print(f"  held back by the guard (owner changed since planning): {r['held_back']}")
    print(f"  silent moves:            {r['silent_moves']} ({r['window_hits']} in the window "
          f"between the guard's re-read and the add, {r['guard_misses']} outside it)")
    print(f"  lost owners after undo:  {r['lost_owners']} ({r['lost_outside_window']} outside "
          "the window)")
    print(f"  frame/journal/portal disagreements (orders the colleague left alone): "
          f"{r['disagreements']}")
    print(f"  window, guard re-read answered -> write batch sent ({r['windows']} batches, "
          f"wall s): median {r['sent_median']:.3f}, max {r['sent_max']:.3f}")
    print(f"  guard re-read answered -> write batch answered (wall s): median "
          f"{r['window_median']:.3f}, p95 {r['window_p95']:.3f}, max {r['window_max']:.3f} "
          f"(the adds' server time runs x{r['scale']:g} faster than on a portal, where add k of "
          "a batch runs about k x 0.33 s after the batch starts)")


if __name__ == "__main__":
    main()
