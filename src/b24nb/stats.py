"""``PortalStats``: what one Portal did — HTTP requests, retries, refreshes, seconds waited.

Why apart from the portal: the listing, the loaders and the bind engine all add to these
counters from their own threads, and benchmarks read them; one small lock-guarded object
is all they need to know of.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["PortalStats"]


class PortalStats:
    """Counters of what this Portal did: HTTP requests, retries, seconds waited on limits."""

    def __init__(self, limiter: Any) -> None:
        self._limiter = limiter
        self._lock = threading.Lock()
        self.http_requests = 0
        self.retries = 0
        self.refreshes = 0

    @property
    def waited_seconds(self) -> float:
        return self._limiter.waited_seconds

    def _add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def __repr__(self) -> str:
        return (f"PortalStats(http_requests={self.http_requests}, retries={self.retries}, "
                f"refreshes={self.refreshes}, waited_seconds={self.waited_seconds:.1f})")
