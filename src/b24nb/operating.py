"""The per-method operating budget: server seconds per 10 minutes, as the portal counts them.

Why its own module: the portal counts every call's server time per method (calls under 0.1 s
excepted, ``batch`` itself excepted) in ten one-minute buckets, each dropping out ten minutes
after its first call, and refuses a method with 429 once it is over 480 s. Writes at ≈ 0.33 s
each spend that budget quickly, so the client books a batch's seconds *before* sending it
(:meth:`OperatingBudget.room`, :meth:`~OperatingBudget.book`) from a ledger of its own calls
and the gauges the answers report. Nothing here sleeps; :class:`b24nb.limits.Limiter` does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["KNOWN_COSTS", "MINIMAL", "WINDOW", "OperatingBudget", "Ticket"]


class _Clock(Protocol):
    def time(self) -> float: ...


#: seconds of server time one call costs before any answer has told us (research §11: the
#: seed's own ``crm.orderentity.add`` answer reports ``processing: 0.3278``)
KNOWN_COSTS: dict[str, float] = {
    "crm.orderentity.add": 0.3278,
    "crm.orderentity.deletebyfilter": 0.3278,
}
WINDOW = 600.0  # the portal's operating window: ten one-minute buckets
MINIMAL = 0.1  # calls shorter than this are not counted by the portal


@dataclass
class _MethodState:
    operating: float = 0.0
    reset_at: float | None = None
    blocked_until: float | None = None
    seen_at: float = float("-inf")  # portal time of the newest gauge reading
    cost: float | None = None  # moving average of one call's server seconds
    #: our own calls as the portal buckets them: minute -> [seconds, first start]
    spends: dict[int, list[float]] = field(default_factory=dict)
    reserved: float = 0.0  # seconds booked by requests in flight


@dataclass(frozen=True)
class Ticket:
    """Operating seconds booked for one request in flight (see :meth:`Limiter.acquire`)."""

    method: str
    seconds: float


class OperatingBudget:
    """Per-method server time in the portal's 10-minute window, read as a gauge.

    Each answer's ``time.operating`` is the method's current total and
    ``operating_reset_at`` when the oldest minute drops out; both come for every nested batch
    command in ``result_time``. A method close to the limit waits until its reset instead of
    collecting a 429; after a 429 it waits until the reset it last heard of, or — when it
    never heard one (someone else spent the budget) — ``slice_`` seconds before asking again,
    which is harmless: a refused call surely did not run.

    For writes sent several batches at a time it also keeps a ledger of our own calls
    (``start`` and ``processing`` of each command, bucketed by minute as the portal does) and
    the seconds booked by requests in flight, so that it can tell *before* sending whether a
    batch still fits — and when the portal will free enough — instead of learning it from a
    refusal.
    """

    def __init__(
        self, clock: _Clock, *, limit: float = 480.0, margin: float = 10.0, slice_: float = 10.0
    ) -> None:
        self.limit = float(limit)
        self.margin = float(margin)
        #: what a batch of writes keeps below the limit: our ledger is exact for our own calls,
        #: so this only absorbs a batch costing a little more than the last ones did
        self.write_margin = min(self.margin, 2.0)
        self.slice = float(slice_)
        self._clock = clock
        self._state: dict[str, _MethodState] = {}
        self._lock = threading.Lock()

    def observe(self, method: str, t: Mapping[str, Any] | None) -> None:
        """Record a method's ``time`` object (a gauge: the newest value replaces the old)."""
        if not isinstance(t, Mapping) or "operating" not in t:
            return
        try:
            operating = float(t["operating"])
        except (TypeError, ValueError):
            return
        reset = t.get("operating_reset_at")
        start, processing = _num(t.get("start")), _num(t.get("processing"))
        at = _num(t.get("finish")) or start or self._clock.time()
        with self._lock:
            st = self._state.setdefault(method.lower(), _MethodState())
            if start is not None and processing is not None:
                if processing >= MINIMAL:
                    bucket = st.spends.setdefault(int(start // 60), [0.0, start])
                    bucket[0] += processing
                    bucket[1] = min(bucket[1], start)
                if processing > 0:
                    st.cost = processing if st.cost is None else 0.8 * st.cost + 0.2 * processing
            if at < st.seen_at:
                return  # an older reading arriving late (parallel requests): keep the newer
            st.operating, st.seen_at = operating, at
            if reset is not None:
                with contextlib.suppress(TypeError, ValueError):
                    st.reset_at = float(reset)

    def block(self, method: str) -> None:
        """The portal refused ``method`` with 429: hold it until its reset."""
        now = self._clock.time()
        with self._lock:
            st = self._state.setdefault(method.lower(), _MethodState())
            if st.reset_at and st.reset_at > now:
                until = st.reset_at
                st.operating = max(st.operating, self.limit)
                st.seen_at = now
            else:
                # no reset known: ask again after a slice. The gauge is left as it was read;
                # inflating it to the limit would be a guess that no later reading replaces
                # when the answers carry no gauge, and the method would wait forever
                until = now + self.slice
            st.blocked_until = until + 1.0

    def _used(self, st: _MethodState, now: float) -> float:
        """Seconds the portal counts against the method now, plus those booked in flight.

        The larger of two views: our own live calls plus what is in flight (exact for our
        writes), and the last gauge less our calls that dropped out since (it also sees other
        users of the same webhook).
        """
        for minute in [m for m, b in st.spends.items() if b[1] + WINDOW <= now - WINDOW]:
            del st.spends[minute]  # long gone; keep the ledger small
        live = sum(b[0] for b in st.spends.values() if b[1] + WINDOW > now)
        gone = sum(b[0] for b in st.spends.values() if st.seen_at < b[1] + WINDOW <= now)
        gauge = st.operating - gone
        if st.reset_at is not None and st.reset_at <= now and st.seen_at < st.reset_at:
            gauge = min(gauge, live)  # its oldest minute dropped out; trust our ledger
        return max(live + st.reserved, gauge)

    def _frees_at(self, st: _MethodState, now: float) -> float | None:
        """The next time the portal drops one of our minutes (or its reported reset)."""
        times = [b[1] + WINDOW for b in st.spends.values() if b[1] + WINDOW > now]
        if st.reset_at is not None and st.reset_at > now:
            times.append(st.reset_at)
        return min(times) if times else None

    def cost(self, method: str) -> float:
        """Server seconds one call of ``method`` is expected to take."""
        with self._lock:
            st = self._state.get(method.lower())
            if st is not None and st.cost is not None:
                return st.cost
        return KNOWN_COSTS.get(method.lower(), 0.0)

    def room(self, method: str, seconds: float) -> tuple[float, str]:
        """``(seconds to wait, why)`` before ``seconds`` more of ``method`` fit (0: now).

        A request may run as soon as everything counted plus everything in flight plus it
        stays under the limit less the margin; otherwise it waits for the next minute the
        portal drops, or — with requests in flight — for one of them to be answered
        (``inf``: the caller waits to be woken).
        """
        now = self._clock.time()
        m = method.lower()
        with self._lock:
            st = self._state.setdefault(m, _MethodState())
            if st.blocked_until and st.blocked_until > now:
                return st.blocked_until - now, self._why(m, st, now)
            used = self._used(st, now)
            if used + seconds <= self.limit - self.write_margin or (used <= 0 and st.reserved <= 0):
                return 0.0, ""
            frees = self._frees_at(st, now)
            if frees is None:
                if st.reserved <= 0:
                    # no reset known and nothing in flight (a 429 from someone else's use,
                    # held out above): the gauge is stale; ask — the answer updates it, and
                    # a refused call surely did not run
                    st.operating = 0.0
                    return 0.0, ""
                # with requests in flight their answers will tell (the limiter is woken by
                # each one); never wait forever on a booking, ask again after a slice
                return self.slice, self._why(m, st, now)
            return frees - now + 1.0, self._why(m, st, now)

    def _why(self, method: str, st: _MethodState, now: float) -> str:
        used = min(self._used(st, now), self.limit)
        frees = self._frees_at(st, now)
        when = f"; the portal frees some in {frees - now:.0f} s" if frees else ""
        return (f"operating-time limit of {method}: {used:.0f} of {self.limit:.0f} s of "
                f"server time used in the last 10 min{when}")

    def book(self, method: str, seconds: float) -> Ticket:
        with self._lock:
            self._state.setdefault(method.lower(), _MethodState()).reserved += seconds
        return Ticket(method.lower(), seconds)

    def unbook(self, ticket: Ticket) -> None:
        with self._lock:
            st = self._state.setdefault(ticket.method, _MethodState())
            st.reserved -= ticket.seconds
            if st.reserved < 1e-6:  # float sums of bookings never quite return to zero
                st.reserved = 0.0

    def wait(self, methods: Iterable[str]) -> float:
        """Seconds to wait before ``methods`` may run again (0 when within budget)."""
        now = self._clock.time()
        delay = 0.0
        with self._lock:
            for m in {m.lower() for m in methods}:
                st = self._state.get(m)
                if st is None:
                    continue
                if st.blocked_until and st.blocked_until > now:
                    delay = max(delay, st.blocked_until - now)
                elif self._used(st, now) - st.reserved >= self.limit - self.margin:
                    frees = self._frees_at(st, now)
                    if frees is not None:
                        delay = max(delay, frees - now + 1.0)
                    else:  # the oldest minute has dropped out; the next answer updates us
                        st.operating = 0.0
        return delay

    def operating(self, method: str) -> float:
        with self._lock:
            st = self._state.get(method.lower())
            return st.operating if st else 0.0

    def snapshot(self, method: str) -> tuple[float, list[tuple[float, float]]]:
        """``(seconds used now, [(seconds from now until freed, seconds freed), …])``.

        What :func:`b24nb.binding.pace.estimate` needs to say how long the rest of a run takes.
        """
        now = self._clock.time()
        with self._lock:
            st = self._state.get(method.lower())
            if st is None:
                return 0.0, []
            used = self._used(st, now) - st.reserved
            frees = sorted((b[1] + WINDOW - now, b[0]) for b in st.spends.values()
                           if b[1] + WINDOW > now)
            return max(0.0, used), frees


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
