"""The portal's clocks and limits: virtual clock, leaky bucket, operating-time budget, stats.

All sandbox time runs on one virtual clock that moves ``time_scale`` times faster than the
wall clock, so a 10-minute operating window or a 2-per-second bucket can be exercised in a
test that lasts seconds. Every time the sandbox reports (``time.start``,
``operating_reset_at``, token ``expires``) is on that clock; ``Sandbox.clock()`` reads it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["PLANS", "Clock", "LeakyBucket", "OperatingBudget", "Stats"]

#: Leaky-bucket parameters by plan: (burst X, drain Y per second) — research §5.
PLANS = {"standard": (50, 2.0), "enterprise": (250, 5.0)}


class Clock:
    """Virtual Unix time: starts at the real time, runs ``scale`` times faster."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time_scale must be positive")
        self.scale = float(scale)
        self._wall0 = time.time()
        self._perf0 = time.perf_counter()

    def now(self) -> float:
        """Virtual seconds since the epoch."""
        return self._wall0 + (time.perf_counter() - self._perf0) * self.scale

    def sleep(self, virtual_seconds: float) -> None:
        """Sleep for ``virtual_seconds`` of virtual time (real time / scale)."""
        if virtual_seconds > 0:
            time.sleep(virtual_seconds / self.scale)


class LeakyBucket:
    """Per-portal request counter draining ``rate`` per second; refuses above ``burst``."""

    def __init__(self, burst: int, rate: float, clock: Clock) -> None:
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._level = 0.0
        self._last = clock.now()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Count one HTTP request; False means refuse it with 503 QUERY_LIMIT_EXCEEDED."""
        with self._lock:
            now = self._clock.now()
            self._level = max(0.0, self._level - (now - self._last) * self.rate)
            self._last = now
            if self._level + 1 > self.burst:
                return False
            self._level += 1
            return True

    @property
    def level(self) -> float:
        """The counter as of now (for tests and benchmarks)."""
        with self._lock:
            now = self._clock.now()
            return max(0.0, self._level - (now - self._last) * self.rate)


class OperatingBudget:
    """Seconds of execution per (caller, method) over ten one-minute buckets.

    Mirrors ``LoadLimiter``: calls under 0.1 s are not recorded, the call that crosses the
    limit still completes, and the next one is refused until the oldest bucket expires. A
    bucket holds the calls that started in one minute and expires ``WINDOW`` seconds after
    its first call — exactly the ``operating_reset_at`` the answers report, so a client that
    waits until that time finds the bucket's seconds gone (research §5).
    """

    WINDOW = 600.0
    MINIMAL = 0.1

    def __init__(self, limit: float, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: dict[tuple[str, str], dict[int, list[float]]] = {}
        self._lock = threading.Lock()

    def _live(self, key: tuple[str, str], now: float) -> dict[int, list[float]]:
        buckets = self._buckets.setdefault(key, {})
        for minute in [m for m, b in buckets.items() if b[1] + self.WINDOW <= now]:
            del buckets[minute]
        return buckets

    def state(self, key: tuple[str, str]) -> tuple[float, int | None]:
        """``(operating seconds, operating_reset_at or None)`` for ``key`` now."""
        with self._lock:
            buckets = self._live(key, self._clock.now())
            if not buckets:
                return 0.0, None
            total = sum(b[0] for b in buckets.values())
            oldest = min(b[1] for b in buckets.values())
            return total, math.ceil(oldest + self.WINDOW)

    def blocked(self, key: tuple[str, str]) -> bool:
        """True when the method's operating time already exceeds the limit."""
        return self.state(key)[0] > self.limit

    def record(self, key: tuple[str, str], seconds: float, at: float) -> None:
        """Add one call's execution time (ignored under 0.1 s, as on the server).

        ``at`` is when the call started; the commands of a batch start one after another,
        so their times may lie a little ahead of the clock when the batch is recorded.
        """
        if seconds < self.MINIMAL:
            return
        with self._lock:
            buckets = self._live(key, self._clock.now())
            bucket = buckets.setdefault(int(at // 60), [0.0, at])
            bucket[0] += seconds
            bucket[1] = min(bucket[1], at)


@dataclass
class Stats:
    """What the sandbox served: HTTP requests, method calls (batch commands too), refusals."""

    http_requests: int = 0
    method_calls: Counter = field(default_factory=Counter)
    refused_503: int = 0
    refused_429: int = 0
    faults_injected: int = 0
    token_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, amount: int = 1) -> None:
        """Increment a counter safely from any server thread."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def call(self, method: str) -> None:
        """Count one executed method call."""
        with self._lock:
            self.method_calls[method] += 1

    @property
    def total_calls(self) -> int:
        """All method calls, batch commands included."""
        return sum(self.method_calls.values())

    def reset(self) -> None:
        """Zero every counter (between phases of a test or benchmark)."""
        with self._lock:
            self.http_requests = 0
            self.method_calls = Counter()
            self.refused_503 = 0
            self.refused_429 = 0
            self.faults_injected = 0
            self.token_requests = 0
