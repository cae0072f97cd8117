"""How long a run of writes takes under the portal's limits, before and during the run.

Why a pure function: the analyst is asked to confirm a run that may take a minute or an hour,
and the answer depends only on the portal's published limits — a request bucket (50 burst,
2 per second), a per-method budget of server time (480 s per 10 minutes, each minute of calls
dropping out ten minutes after its first call), and what one write costs (≈ 0.33 s for
``crm.orderentity.add``). :func:`estimate` plays the run through those rules, batch by batch,
the way the sender paces it; the same function, fed the budget's state mid-run, gives the
progress bar its ETA. It never touches the network or a clock.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["IN_FLIGHT", "Estimate", "estimate", "format_duration"]

#: batches of writes the sender keeps in flight: enough to hide one batch's ~16 s of server
#: time behind the next, few enough that a portal's workers are not crowded by one analyst
IN_FLIGHT = 4


@dataclass(frozen=True)
class Estimate:
    """A run's expected duration and what bounds it."""

    seconds: float
    writes: int
    requests: int
    cost: float  # server seconds per write
    per_window: int  # writes the operating budget allows per 10 minutes
    bound_by: str  # "operating-time budget" | "server time" | "request rate" | "nothing"

    @property
    def text(self) -> str:
        """``≈ 4 min: the portal allows about 1,450 bindings per 10 minutes``."""
        head = f"≈ {format_duration(self.seconds)}"
        if self.writes == 0:
            return "nothing to send"
        if self.bound_by == "operating-time budget":
            return (f"{head}: the portal allows about {self.per_window:,} bindings per "
                    "10 minutes")
        if self.bound_by == "server time":
            return (f"{head}: {self.writes:,} bindings at about {self.cost:.2f} s of server "
                    f"time each, {IN_FLIGHT} batches at a time")
        if self.bound_by == "request rate":
            return f"{head}: {self.requests:,} requests at the portal's 2 per second"
        return head


def format_duration(seconds: float) -> str:
    """``40 s``, ``4 min``, ``1 h 10 min`` — rounded the way a person says it."""
    if not math.isfinite(seconds):
        return "unknown"
    s = max(0.0, seconds)
    if s < 90:
        return f"{max(1, round(s))} s"
    if s < 60 * 60:
        return f"{round(s / 60)} min"
    h, m = divmod(round(s / 60), 60)
    return f"{h} h {m} min" if m else f"{h} h"


def estimate(  # noqa: PLR0913 - keyword-only, one per published limit, passed by name
    writes: int,
    *,
    cost: float = 0.3278,
    batch: int = 50,
    in_flight: int = IN_FLIGHT,
    limit: float = 480.0,
    margin: float = 2.0,
    window: float = 600.0,
    capacity: float = 50.0,
    rate: float = 2.0,
    used: float = 0.0,
    frees: Sequence[tuple[float, float]] = (),
    minimal: float = 0.1,
) -> Estimate:
    """Seconds to send ``writes`` writes in batches under the portal's limits.

    Parameters
    ----------
    writes
        Writes left to send.
    cost
        Server seconds per write (``time.processing`` of one command).
    batch, in_flight
        Writes per request, and requests the sender keeps in flight at once.
    limit, margin, window
        The per-method operating budget: ``limit`` seconds per ``window``; the sender keeps
        ``margin`` seconds below it.
    capacity, rate
        The request bucket (burst and drain per second).
    used, frees
        The budget now: seconds counted, and ``(seconds from now, seconds freed)`` for each
        minute of our calls still in the window (from :meth:`OperatingBudget.snapshot`).
        Counted seconds not in ``frees`` are assumed to drop out one window from now.
    minimal
        Calls shorter than this are not counted by the portal.

    Returns
    -------
    Estimate
        With ``seconds``, ``requests`` and what bounds the run.

    Examples
    --------
    >>> estimate(10_000).text
    '≈ 1 h 2 min: the portal allows about 1,458 bindings per 10 minutes'
    """
    writes = max(0, int(writes))
    per_call = cost if cost >= minimal else 0.0
    budget = max(per_call * batch, limit - margin)
    per_window = int((limit - margin) / per_call) if per_call > 0 else 0
    n_req = math.ceil(writes / batch) if writes else 0
    # live spends: (drops out at, seconds) — a heap ordered by when they drop out
    live: list[tuple[float, float]] = [(max(0.0, t), s) for t, s in frees]
    rest = max(0.0, used - sum(s for _, s in frees))
    if rest > 0:
        live.append((window, rest))
    heapq.heapify(live)
    counted = sum(s for _, s in live)
    slots = [0.0] * max(1, in_flight)  # when each in-flight slot is free again
    end = 0.0
    waited_budget = waited_rate = 0.0
    left = writes
    for i in range(n_req):
        k = min(batch, left)
        left -= k
        need = k * per_call
        free_slot = heapq.heappop(slots)
        start = max(free_slot, max(0.0, (i + 1 - capacity) / rate))
        if start > free_slot:
            waited_rate += start - free_slot
        # drop what has expired by then, then wait for more to drop until the batch fits
        while live and live[0][0] <= start:
            counted -= heapq.heappop(live)[1]
        while need > 0 and counted + need > budget and live:
            t, sec = heapq.heappop(live)
            counted -= sec
            if t > start:
                waited_budget += t - start
                start = t
        finish = start + k * cost
        if need > 0:
            heapq.heappush(live, (start + window, need))
            counted += need
        heapq.heappush(slots, finish)
        end = max(end, finish)
    serial = writes * cost / max(1, in_flight)
    if waited_budget > 0 and waited_budget >= waited_rate:
        bound = "operating-time budget"
    elif waited_rate > 0:
        bound = "request rate"
    elif serial > 0:
        bound = "server time"
    else:
        bound = "nothing"
    return Estimate(end, writes, n_req, cost, per_window, bound)
