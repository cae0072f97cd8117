"""Client-side limits: token bucket, per-method operating budget, retry delays, one coordinator.

Why three small pieces and one coordinator (STYLE point 5): the portal enforces two unrelated
limits — a per-portal leaky bucket of requests (50 burst, 2/s; Enterprise 250/5) and a
per-method budget of server time (480 s per 10 minutes) — and answers transient failures that
need backing off. Each piece is a small object that only *computes* how long to wait; only the
:class:`Limiter` sleeps, through an injected :class:`Clock`, so the arithmetic is testable with
a fake clock and the behaviour is testable against the sandbox with a scaled one.

The bucket is counted *before* each send and shared by every thread (fast_bitrix24 records a
request after its answer, so fifty in-flight requests are invisible to it and trip the portal).
``time.operating`` is a running total, a gauge, not an increment (fast_bitrix24 sums it and
sleeps ten minutes for nothing); nested batch commands report their own ``result_time``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from b24nb.errors import (
    ExpiredTokenError,
    HostNotFoundError,
    LimitError,
    NetworkError,
    OperationTimeLimitError,
    OutcomeUnknownError,
    OverloadError,
    PortalError,
    ServerError,
)
from b24nb.operating import KNOWN_COSTS, OperatingBudget, Ticket

__all__ = [
    "KNOWN_COSTS",
    "PLANS",
    "Clock",
    "Limiter",
    "OperatingBudget",
    "ScaledClock",
    "SystemClock",
    "Ticket",
    "TokenBucket",
    "retry_delay",
    "surely_not_run",
]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

#: refusals by the operating-time limit (HTTP 429) a request sits out before giving up
_OPERATING_ATTEMPTS = 70

#: plan name -> (bucket capacity, drain per second), from the portal's documented limits.
PLANS: dict[str, tuple[int, float]] = {"standard": (50, 2.0), "enterprise": (250, 5.0)}


class Clock(Protocol):
    """Where time comes from and how it passes; injected so tests need not wait."""

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real wall clock."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def real_seconds(self, seconds: float) -> float:
        """Wall seconds that ``seconds`` of this clock take (for waits that can be woken)."""
        return seconds


class ScaledClock:
    """A clock running ``scale`` times faster than the wall clock.

    Matches a sandbox started with ``time_scale=scale``: pass its virtual time as ``now``
    (``ScaledClock(sb.time_scale, now=sb.clock)``) so that its ``operating_reset_at`` and our
    waits are on one clock, and a wait of ``s`` virtual seconds takes ``s / scale`` real ones.
    """

    def __init__(self, scale: float = 1.0, now: Callable[[], float] | None = None) -> None:
        self.scale = float(scale)
        self._now = now
        self._t0 = time.time()
        self._p0 = time.perf_counter()

    def time(self) -> float:
        if self._now is not None:
            return float(self._now())
        return self._t0 + (time.perf_counter() - self._p0) * self.scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.scale)

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.scale


#: real seconds between our booking of a request and the portal counting it (send, network,
#: a busy machine's scheduling), absorbed by the bucket's margin; 20 ms was seen to be too
#: little on a loaded 2-core box (503s from a sandbox running 50× faster)
JITTER = 0.05


class TokenBucket:
    """A leaky bucket mirroring the portal's, counted before each request is sent.

    ``reserve()`` books a slot for one request *now* and returns how long the caller must wait
    before sending it; the slot stays booked while it waits, so threads queue up fairly instead
    of all waking at once. A small margin below the portal's own figures absorbs the jitter
    between our send time and its receive time.

    The default margin is one request plus :data:`JITTER` real seconds of arrival jitter at the
    drain rate, on the clock's own time: at the real 2/s that is 1.1 requests (a drained walk
    gives up about half a second to it, not the second a fixed margin of 2 cost), while a
    sandbox clock running 20× faster turns the same 50 ms into 3 requests of its bucket.
    """

    def __init__(
        self,
        capacity: float,
        rate: float,
        clock: Clock,
        *,
        margin: float | None = None,
        rate_factor: float = 0.99,  # clocks differ by ppm; the jitter is the margin's job
    ) -> None:
        if margin is None:
            margin = 1.0 + JITTER * float(getattr(clock, "scale", 1.0)) * float(rate)
        self.capacity = max(1.0, float(capacity) - margin)
        self.rate = float(rate) * rate_factor
        self._clock = clock
        self._level = 0.0
        self._at = clock.time()
        self._lock = threading.Lock()

    def _drain(self, now: float) -> None:
        self._level = max(0.0, self._level - (now - self._at) * self.rate)
        self._at = now

    def reserve(self) -> float:
        """Book one request; return the seconds to wait before sending it (0 if none)."""
        with self._lock:
            now = self._clock.time()
            self._drain(max(now, self._at))
            self._level += 1.0
            over = self._level - self.capacity
            return over / self.rate if over > 0 else 0.0

    def saturate(self) -> None:
        """Mark the bucket full: the portal said 503, so someone else shares our budget."""
        with self._lock:
            self._drain(max(self._clock.time(), self._at))
            self._level = max(self._level, self.capacity)

    @property
    def level(self) -> float:
        with self._lock:
            self._drain(max(self._clock.time(), self._at))
            return self._level


def retry_delay(error: PortalError, attempt: int, *, jitter: float = 0.5) -> float | None:
    """Decide whether a failed request is worth sending again, and after how long.

    Pure: the same error, attempt (0 for the first retry) and ``jitter`` (a number in [0, 1)
    the coordinator draws) give the same answer. ``None`` means "do not retry": the error is
    final, or the attempts are used up. Whether a *write* may be resent at all is decided
    before this is asked (only when it surely did not run).

    Returns
    -------
    float | None
        Seconds to wait before the next attempt.
    """
    if isinstance(error, (OverloadError, ExpiredTokenError, OutcomeUnknownError)):
        return None  # manual block / refreshed by auth / never resent blindly
    if isinstance(error, OperationTimeLimitError):
        # the coordinator's OperatingBudget holds the method until its reset (or ~10 s when
        # the reset is unknown); this is only the pause before asking again. A refused call
        # costs no operating time, so keep asking for as long as the portal's 10-minute
        # window can take to free up: 70 refusals at >= 10 s each span more than 11 minutes.
        return 1.0 if attempt < _OPERATING_ATTEMPTS else None
    if isinstance(error, LimitError) or error.status == 503:
        # the bucket overflowed: exponential back-off with jitter so threads spread out
        if attempt >= 12:
            return None
        return min(30.0, 0.5 * 2**attempt) * (0.5 + jitter)
    if isinstance(error, NetworkError) and not error.transient:
        return None  # e.g. a certificate that did not verify: asking again changes nothing
    if isinstance(error, HostNotFoundError):
        # usually a typo in the URL; two quick retries cover a DNS hiccup, no more
        return None if attempt >= 2 else 0.5 * 2**attempt * (0.5 + jitter)
    if isinstance(error, (ServerError, NetworkError)) or (error.status or 0) >= 500:
        if attempt >= 6:
            return None
        return min(20.0, 0.5 * 2**attempt) * (0.5 + jitter)
    return None


class Limiter:
    """The one coordinator that sleeps: bucket, operating budget and back-off together.

    ``on_wait(seconds, reason)`` is called before any wait of a second or more, so a progress
    bar can show that the client is waiting on a limit rather than hung.
    """

    def __init__(
        self,
        *,
        plan: str = "standard",
        clock: Clock | None = None,
        operating_limit: float = 480.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if plan not in PLANS:
            raise ValueError(f"plan must be one of {sorted(PLANS)}, not {plan!r}")
        self.clock: Clock = clock or SystemClock()
        capacity, rate = PLANS[plan]
        self.bucket = TokenBucket(capacity, rate, self.clock)
        self.budget = OperatingBudget(self.clock, limit=operating_limit)
        self.waited_seconds = 0.0
        self._rng = rng
        self._listeners: list[Callable[[float, str], None]] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition()

    def add_listener(self, fn: Callable[[float, str], None]) -> None:
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[float, str], None]) -> None:
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def _sleep(
        self,
        seconds: float,
        reason: str,
        *,
        cancel: threading.Event | None = None,
        wakeable: bool = False,
    ) -> bool:
        """The one place that waits. False when ``cancel`` was set meanwhile.

        With ``cancel`` or ``wakeable`` the wait is on a condition (a Stop, or a request in
        flight answered, ends it early); otherwise it is the clock's own sleep, so a fake
        clock in a test just moves on.
        """
        if seconds <= 0:
            return not (cancel is not None and cancel.is_set())
        if seconds >= 1.0 and seconds != float("inf"):
            log.info("waiting %.1f s: %s", seconds, reason)
            with self._lock:
                listeners = list(self._listeners)
            for fn in listeners:
                try:
                    fn(seconds, reason)
                except Exception:  # a broken progress bar must not stop the request
                    log.debug("wait listener failed", exc_info=True)
        real = getattr(self.clock, "real_seconds", None)
        if (cancel is None and not wakeable) or real is None:
            if seconds == float("inf"):
                seconds = self.budget.slice
            with self._lock:
                self.waited_seconds += seconds
            self.clock.sleep(seconds)
            return not (cancel is not None and cancel.is_set())
        t0 = self.clock.time()
        with self._wake:
            if not (cancel is not None and cancel.is_set()):
                self._wake.wait(None if seconds == float("inf") else real(seconds))
        with self._lock:
            self.waited_seconds += max(0.0, self.clock.time() - t0)
        return not (cancel is not None and cancel.is_set())

    def wake(self) -> None:
        """Wake every wait that can be woken (a request answered, or a Stop)."""
        with self._wake:
            self._wake.notify_all()

    def acquire(
        self, method: str, calls: int, *, cancel: threading.Event | None = None
    ) -> Ticket | None:
        """Wait until ``calls`` more calls of ``method`` fit the operating budget; book them.

        Why before sending and not after a refusal: several batches of writes go out at
        once, and a batch that does not fit would come back as a row of 429s (each command
        past the limit refused). Returns None when ``cancel`` is set while waiting.
        """
        seconds = calls * self.budget.cost(method)
        while True:
            if cancel is not None and cancel.is_set():
                return None
            wait, why = self.budget.room(method, seconds)
            if wait <= 0:
                return self.budget.book(method, seconds)
            if not self._sleep(wait, why, cancel=cancel, wakeable=True):
                return None

    def release(self, ticket: Ticket | None) -> None:
        """The request holding ``ticket`` was answered: its seconds are in the gauge now."""
        if ticket is not None:
            self.budget.unbook(ticket)
            self.wake()

    def pause(self, seconds: float, reason: str, *, cancel: threading.Event | None = None) -> bool:
        """Wait ``seconds`` for ``reason`` (a whole request refused by a limit)."""
        return self._sleep(seconds, reason, cancel=cancel)

    def before_send(self, methods: Iterable[str]) -> None:
        """Wait for the methods' operating budget, then book and wait for a bucket slot."""
        methods = list(methods)
        while True:
            wait = self.budget.wait(methods)
            if wait <= 0:
                break
            self._sleep(wait, "operating-time limit of " + ", ".join(sorted(set(methods))))
        self._sleep(self.bucket.reserve(), "request-rate limit")

    def observe(self, method: str, t: Mapping[str, Any] | None) -> None:
        self.budget.observe(method, t)

    def on_error(self, error: PortalError, methods: Iterable[str]) -> None:
        """Adapt to a refusal: a 503 fills our bucket, a 429 blocks the methods."""
        if isinstance(error, OperationTimeLimitError):
            for m in methods:
                self.budget.block(m)
        elif isinstance(error, LimitError) or error.status == 503:
            self.bucket.saturate()

    def backoff(self, error: PortalError, attempt: int) -> bool:
        """Sleep before retry ``attempt``; False when :func:`retry_delay` says give up."""
        delay = retry_delay(error, attempt, jitter=self._rng())
        if delay is None:
            return False
        self._sleep(delay, f"retrying after {error.code or 'error'}")
        return True


def surely_not_run(err: PortalError) -> bool:
    """True when the portal refused a request before running it (safe to resend a write).

    Only the portal's own refusals count — ``QUERY_LIMIT_EXCEEDED``/``OVERLOAD_LIMIT`` (503,
    answered by the front before PHP runs) and ``OPERATION_TIME_LIMIT`` (429) — plus a
    connection that was never established. A bare 503 page with no portal error in it may
    come from a proxy that had already forwarded the request, so it does not count.
    """
    if isinstance(err, (LimitError, OperationTimeLimitError)):
        return True
    return isinstance(err, NetworkError) and not err.sent
