"""The run loop of the sender: several batches in flight, paced, stoppable, with progress.

Why apart from :mod:`~b24nb.binding.sender`: what one batch does (journal, send, read back,
answer into the frame) is one concern; how many batches go at once, when the next may leave,
what Stop and an interrupt do, and how far along the run is, is another. The sender's batch
step (:meth:`Sender._send`) runs on the pool's threads; this loop runs on the caller's.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from b24nb.binding.control import Progress, RunControl
from b24nb.binding.pace import estimate
from b24nb.pairs.log import Outcome

if TYPE_CHECKING:
    from b24nb.binding.write import Write

__all__ = ["BATCH", "InFlight"]

logger = logging.getLogger(__name__)

BATCH = 50


def _code(err: Any) -> str:
    return str(getattr(err, "code", "") or type(err).__name__)


class InFlight:
    """Keeps up to ``in_flight`` batches of the queue on the wire (base of ``Sender``)."""

    control: RunControl
    in_flight: int
    limiter: Any
    log: Any
    bar: Any
    total: int
    done: int
    waiting: str | None
    _t0: float | None
    _queue: deque[Write]
    _inflight: dict[int, Write]
    _busy_orders: set[int]
    _lock: threading.Lock

    def _send(self, batch: list[Write]) -> None:  # pragma: no cover - the sender's
        raise NotImplementedError

    def notify(self, pair_ids: list[Any]) -> None:  # pragma: no cover - the sender's
        raise NotImplementedError

    # -- progress -------------------------------------------------------------------------
    def _now(self) -> float:
        return time.monotonic()

    def progress(self) -> Progress:
        """Done/total, rate and the ETA of the rest under the portal's limits."""
        elapsed = 0.0 if self._t0 is None else self._now() - self._t0
        left = max(0, self.total - self.done)
        eta = None
        if self.limiter is not None and left:
            method = next(iter(self._queue), None) or next(iter(self._inflight.values()), None)
            name = method.method if method is not None else "crm.orderentity.add"
            budget = self.limiter.budget
            used, frees = budget.snapshot(name)
            scale = getattr(self.limiter.clock, "scale", 1.0) or 1.0
            est = estimate(left, cost=budget.cost(name) or 0.0, in_flight=self.in_flight,
                           limit=budget.limit, used=used, frees=frees)
            eta = est.seconds / scale  # wall seconds on a scaled (test) clock
        return Progress(self.done, self.total, elapsed, eta, self.waiting,
                        self.control.stopping)

    def _progress(self) -> None:
        text = self.progress()
        with contextlib.suppress(Exception):
            self.bar.set_postfix_str(text.text.split(" · ", 1)[-1], refresh=True)
        if self.control.on_progress is not None:
            try:
                self.control.on_progress(text)
            except Exception:
                logger.exception("on_progress callback failed; the run goes on")

    def _on_wait(self, seconds: float, reason: str) -> None:
        self.waiting = f"{seconds:.0f} s, {reason}"
        self._progress()

    # -- the loop -------------------------------------------------------------------------
    def _take(self) -> list[Write]:
        """The next batch: up to 50 writes, none on an order another batch has in flight."""
        batch: list[Write] = []
        skipped: list[Write] = []
        with self._lock:
            while self._queue and len(batch) < BATCH:
                w = self._queue.popleft()
                if w.item.order_id in self._busy_orders:
                    skipped.append(w)
                else:
                    batch.append(w)
            self._queue.extendleft(reversed(skipped))
        return batch

    def run(self, writes: Sequence[Write]) -> None:
        """Send every write; on Stop or an exception, finish what is in flight and mark the rest.

        Stop (``control.stop()``) and ``KeyboardInterrupt`` end the same way: the batches in
        flight are answered into the journal and the frame, nothing more is sent, and the rows
        not sent read ``skipped``. An interrupt is raised again afterwards; a second one
        while waiting leaves the rows in flight ``pending`` (a rerun settles them).
        """
        self._queue.extend(writes)
        self.total = len(writes)
        self._t0 = self._now()
        if self.limiter is not None:
            self.limiter.add_listener(self._on_wait)
        pool = ThreadPoolExecutor(self.in_flight, thread_name_prefix="b24nb-send")
        try:
            self._run_all(pool, {})
        except BaseException as exc:
            self._abandon(exc)
            raise
        finally:
            pool.shutdown(wait=False)
            if self.limiter is not None:
                self.limiter.remove_listener(self._on_wait)
        if self.control.stopping and self._queue:
            self._abandon(None)

    def _run_all(self, pool: ThreadPoolExecutor,
                 running: dict[Future[BaseException | None], list[Write]]) -> None:
        """Pump the queue, then wait for what is in flight; raise what stopped the run."""
        try:
            error = self._pump(pool, running)
        except KeyboardInterrupt:
            self.control.stop("interrupted")
            if self.limiter is not None:
                self.limiter.wake()
            self._drain(running)
            raise
        self._drain(running)
        for fut in running:
            error = error or fut.result()
        if error is not None:
            raise error

    def _pump(self, pool: ThreadPoolExecutor,
              running: dict[Future[BaseException | None], list[Write]]) -> BaseException | None:
        """Keep batches leaving until the queue is empty, Stop, or a batch's stopping error.

        Returns that error (None otherwise); the batches still in ``running`` are the caller's
        to wait for.
        """
        error: BaseException | None = None
        while True:
            for fut in [f for f in running if f.done()]:
                self._collect(running.pop(fut), fut)
                error = error or fut.result()
            if error is not None or self.control.stopping:
                return error
            if self._queue and len(running) < self.in_flight:
                launched = self._launch_next(pool, running)
                if launched is None:  # Stop was pressed while the limiter made it wait
                    return error
                if launched:
                    continue
            if not running:
                return error
            wait(list(running), return_when=FIRST_COMPLETED)

    def _launch_next(self, pool: ThreadPoolExecutor,
                     running: dict[Future[BaseException | None], list[Write]]) -> bool | None:
        """Take the next batch and launch it once the limiter books it.

        True: launched; False: no batch could be taken (its orders are all in flight); None:
        Stop came while waiting for the limiter, and the batch is back in the queue.
        """
        batch = self._take()
        if not batch:
            return False
        ticket = self._acquire(batch)
        if ticket is False:
            self._queue.extendleft(reversed(batch))
            return None
        self._launch(pool, running, batch, ticket)
        return True

    def _acquire(self, batch: list[Write]) -> Any:
        """Book the batch's operating seconds, per method, in the limiter (it waits).

        Returns the tickets, or False when Stop was pressed while waiting.
        """
        if self.limiter is None or not hasattr(self.limiter, "acquire"):
            return []
        tickets = []
        for method, n in Counter(w.method for w in batch).items():
            ticket = self.limiter.acquire(method, n, cancel=self.control.stop_event)
            if ticket is None:
                for t in tickets:
                    self.limiter.release(t)
                self.waiting = None
                return False
            tickets.append(ticket)
        self.waiting = None
        return tickets

    def _launch(self, pool: ThreadPoolExecutor, running: dict, batch: list[Write],
                ticket: Any) -> None:
        with self._lock:
            self._busy_orders.update(w.item.order_id for w in batch)
        running[pool.submit(self._worker, batch, ticket)] = batch

    def _worker(self, batch: list[Write], ticket: Any) -> BaseException | None:
        """Send one batch on a pool thread; return the exception that must stop the run."""
        try:
            self._send(batch)
        except BaseException as exc:
            return exc
        finally:
            if self.limiter is not None and hasattr(self.limiter, "release"):
                for t in ticket:
                    self.limiter.release(t)
        return None

    def _collect(self, batch: list[Write], fut: Future[BaseException | None]) -> None:
        with self._lock:
            self._busy_orders.difference_update(w.item.order_id for w in batch)

    def _drain(self, running: dict) -> None:
        """Wait for the batches in flight (they journal and log their own answers)."""
        if running:
            self._progress()
            wait(list(running))
            for fut, batch in list(running.items()):
                self._collect(batch, fut)

    def _abandon(self, exc: BaseException | None) -> None:
        """Mark rows in flight ``pending`` and rows never sent ``skipped``."""
        code = _code(exc) if exc is not None else (self.control.reason or "stopped")
        why = "interrupted" if isinstance(exc, KeyboardInterrupt) else code
        with self._lock:
            inflight = list(self._inflight.values())
            self._inflight.clear()
        out = [
            Outcome(
                w.item.pair_id,
                "pending",
                code,
                f"sent, no answer ({why}); rerun to settle it from the journal",
            )
            for w in inflight
        ]
        out += [
            Outcome(w.item.pair_id, "skipped", code, f"not sent: the run stopped ({why})")
            for w in self._queue
        ]
        self._queue.clear()
        with self.control.lock:
            self.notify(self.log.write(out))
