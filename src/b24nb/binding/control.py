"""Steering a run from outside: Stop, the frame lock, and progress as data.

Why a separate object: the review grid runs ``bind``/``unbind`` on a background thread and
must be able to stop it between batches, redraw from the frame without reading a half-written
row, and show done/total, rate, ETA and the reason for any wait — while code that calls
``bind`` directly needs none of it. One :class:`RunControl` passed as ``control=`` carries all
three; without one, ``bind`` makes its own.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from b24nb.binding.pace import format_duration

__all__ = ["LockedLog", "Progress", "RunControl"]


@dataclass(frozen=True)
class Progress:
    """Where a run is: rows answered of the total, rate, ETA, and why it waits (if it does)."""

    done: int
    total: int
    elapsed: float  # wall seconds since the first batch left
    eta: float | None  # seconds still to go under the portal's limits (None: unknown yet)
    waiting: str | None = None  # why the run is waiting now, e.g. the operating-time limit
    stopping: bool = False

    @property
    def rate(self) -> float:
        """Rows answered per wall second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def text(self) -> str:
        """``120/637 · 3.1/s · ETA 2 min · waiting 412 s: operating-time limit …``."""
        parts = [f"{self.done:,}/{self.total:,}"]
        if self.done and self.elapsed > 0:
            parts.append(f"{self.rate:.1f}/s")
        if self.stopping:
            parts.append("stopping: finishing the batches in flight")
        elif self.eta is not None and self.done < self.total:
            parts.append(f"ETA {format_duration(self.eta)}")
        if self.waiting and not self.stopping:
            parts.append(f"waiting: {self.waiting}")
        return " · ".join(parts)


@dataclass
class RunControl:
    """Stop, frame lock and progress listener of one run (pass as ``bind(..., control=)``).

    Attributes
    ----------
    stop_event : threading.Event
        Set by :meth:`stop`: the batches in flight finish, nothing more is sent, the rows not
        sent read ``skipped`` (a rerun sends them).
    lock : threading.RLock
        Held while the run writes the frame; hold it to read the frame during a run.
    on_progress : callable, optional
        ``on_progress(Progress)`` after each batch and when a wait begins.
    """

    stop_event: threading.Event = field(default_factory=threading.Event)
    lock: Any = field(default_factory=threading.RLock)
    on_progress: Callable[[Progress], None] | None = None
    #: why the run stopped early ("stopped", "interrupted"), None while it runs to the end
    reason: str | None = None

    def stop(self, reason: str = "stopped") -> None:
        """Ask the run to stop after the batches in flight."""
        if self.reason is None:
            self.reason = reason
        self.stop_event.set()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with self.lock:
            yield


class LockedLog:
    """A :class:`~b24nb.pairs.log.FrameLog` whose every call holds the run's frame lock.

    Why a wrapper: a redraw reading the frame while a batch's answers are written into it
    could show a row half old, half new (or trip pandas mid-write); with one lock held by both
    sides, every read sees whole batches.
    """

    def __init__(self, log: Any, lock: Any) -> None:
        self._log = log
        self._lock = lock

    @property
    def pairs(self) -> Any:
        return self._log.pairs

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._log, name)
        if not callable(attr):
            return attr

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return locked
