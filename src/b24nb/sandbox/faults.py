"""Faults on demand: 503, 500 with an HTML body, connection reset, slow answers, expired
tokens and per-command operating-time refusals — per method, with a probability and a seed.

Each rule draws from its own ``random.Random(seed)``, so a test that sends the same requests
in the same order sees the same faults every run.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass, field

__all__ = ["KINDS", "Fault", "Faults"]

#: Request-level kinds act on the whole HTTP request; "429" acts per method call, so inside a
#: batch it becomes one command's OPERATION_TIME_LIMIT in ``result_error``.
KINDS = ("503", "500", "reset", "slow", "expired_token", "429")


@dataclass
class Fault:
    """One rule: ``kind`` for calls of ``method`` (glob) with probability ``p``."""

    method: str
    kind: str
    p: float
    seed: int | None
    delay: float = 2.0
    times: int | None = None
    after: bool = False
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, method: str) -> bool:
        """Glob match on the lower-cased method name (``*``, ``crm.deal.*``)."""
        return fnmatch.fnmatchcase(method.lower(), self.method.lower())


class Faults:
    """The sandbox's fault rules (``sb.faults``)."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, method: str = "*", kind: str = "503", p: float = 1.0, seed: int | None = 0,
            *, delay: float = 2.0, times: int | None = None, after: bool = False) -> Fault:
        """Inject ``kind`` into calls of ``method`` with probability ``p``.

        Parameters
        ----------
        method : glob over method names; a batch matches when it or any command matches.
        kind : one of ``"503"``, ``"500"``, ``"reset"``, ``"slow"``, ``"expired_token"``, ``"429"``.
        p : probability per matching request (per matching call for ``"429"``).
        seed : seeds this rule's random draws so runs repeat exactly.
        delay : virtual seconds a ``"slow"`` answer waits before being served.
        times : stop after firing this many times (None: unlimited).
        after : for ``"reset"``, ``"500"`` and ``"slow"``: run the call first, then lose or
            delay its answer — a write that landed although the client saw a failure.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be between 0 and 1")
        if after and kind not in ("reset", "500", "slow"):
            raise ValueError("after=True applies to 'reset', '500' and 'slow' only")
        rule = Fault(method, kind, float(p), seed, delay=delay, times=times, after=after,
                     rng=random.Random(seed))
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def __len__(self) -> int:
        return len(self._rules)

    def _fire(self, rule: Fault) -> bool:
        if rule.times is not None and rule.fired >= rule.times:
            return False
        if rule.rng.random() >= rule.p:
            return False
        rule.fired += 1
        return True

    def draw_request(self, methods: list[str]) -> list[Fault]:
        """Request-level faults that fire for a request calling ``methods``."""
        fired = []
        with self._lock:
            for rule in self._rules:
                if rule.kind == "429" or not any(rule.matches(m) for m in methods):
                    continue
                if self._fire(rule):
                    fired.append(rule)
        return fired

    def draw_call(self, method: str) -> bool:
        """True when a ``"429"`` rule refuses this one method call."""
        with self._lock:
            return any(rule.kind == "429" and rule.matches(method) and self._fire(rule)
                       for rule in self._rules)
