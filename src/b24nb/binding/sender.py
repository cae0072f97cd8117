"""Send writes in batches of 50: journal first, portal second, answer into frame and journal.

Why this order: a write that is in the journal before it leaves can always be settled later;
a write sent first and journaled second could be lost by a kill between the two. After the
portal answers, the answer goes into the journal and the frame in one step per batch.

What is resent, and why (STYLE point 4): only a write that surely did not run (a limit
refusal, a refused connection) is resent as it is. A write whose answer was lost (a reset,
a 5xx, a timeout) is settled by reading the order back with ``crm.orderentity.list``; only
if the read shows it not applied is it sent again, and a late duplicate then answers
``201650000001``, which reads as ``already_bound``.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from b24nb.binding.control import RunControl
from b24nb.binding.flight import InFlight
from b24nb.binding.guard import guard_batch
from b24nb.binding.owners import read_owners
from b24nb.binding.pace import IN_FLIGHT
from b24nb.binding.write import Write
from b24nb.errors import (
    AccessDeniedError,
    AuthError,
    DuplicateBindingError,
    LimitError,
    NetworkError,
    NotRunError,
    OutcomeUnknownError,
    OverloadError,
    PortalError,
    RelationNotFoundError,
    ServerError,
)
from b24nb.journal import Journal
from b24nb.pairs.log import FrameLog, Outcome, fmt

__all__ = ["Sender", "Target", "Write", "notify"]

logger = logging.getLogger(__name__)

#: tries of one write before it is given up for this run (a rerun goes on from the journal)
MAX_TRIES = 8

def _code(err: Any) -> str:
    return str(getattr(err, "code", "") or type(err).__name__)


def notify(on_update: Callable[[list[Any]], None] | None, pair_ids: list[Any]) -> None:
    """Tell the widget which rows changed; its errors are logged and never stop a run.

    Why not raise: the writes of a batch are already on the portal and in the journal; a
    broken display must not leave the rest of the selection half-sent.
    """
    if pair_ids and on_update is not None:
        try:
            on_update(pair_ids)
        except Exception:
            logger.exception("on_update callback failed; the run goes on")


@dataclass(frozen=True)
class Target:
    """Where one run's writes go and where they are journaled: the portal, the journal file,
    the portal's journal key and the run's id."""

    portal: Any
    journal: Journal
    key: str
    run_id: str


@dataclass(frozen=True)
class Answer:
    """One journal answer: ``outcome`` None means "surely not applied, will be resent"."""

    write: Write
    outcome: Outcome | None
    event: str = "answer"  # or "settle" (decided by reading back)
    error: str | None = None
    message: str | None = None


class Sender(InFlight):
    """Runs the write queue of one ``bind``/``unbind`` call, several batches in flight.

    Why in parallel, and why it is safe: one batch of 50 writes costs ~16 s of server time
    (≈ 0.33 s an add), so one batch at a time leaves the portal's request budget idle while
    the run crawls. Batches never share an order, so their order of arrival does not matter;
    each is journaled before it leaves and answered into the journal and the frame (under the
    run's lock) when it returns. How many may go at once is the limiter's call: the shared
    request bucket, and the per-method operating budget, booked before each batch from what
    the answers report — so a batch that would not fit waits for the portal to free seconds
    instead of coming back as a row of 429s. The limiter is the only thing that sleeps.

    Parameters
    ----------
    target : Target
        Where to send, where to log, the portal identity and the run (kept as the attributes
        ``portal``, ``journal``, ``key``, ``run_id``, which the guard reads).
    log : FrameLog
        The frame to write outcomes into (a :class:`~b24nb.binding.control.LockedLog`).
    bar
        A ``tqdm`` bar (or a disabled one); advanced per row finished.
    on_update : callable | None
        Called with the pair ids written after each batch.
    control : RunControl | None
        Stop, frame lock and progress listener.
    in_flight : int
        Batches sent at once at most.
    """

    def __init__(
        self,
        target: Target,
        log: FrameLog,
        bar: Any,
        on_update: Callable[[list[Any]], None] | None = None,
        *,
        control: RunControl | None = None,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self.portal, self.journal = target.portal, target.journal
        self.key, self.run_id = target.key, target.run_id
        self.log, self.bar, self.on_update = log, bar, on_update
        self.control = control or RunControl()
        self.in_flight = max(1, int(in_flight))
        self.limiter = getattr(self.portal, "limiter", None)
        self.total = 0
        self.done = 0
        self.waiting: str | None = None
        self._t0: float | None = None
        self._queue: deque[Write] = deque()
        self._inflight: dict[int, Write] = {}
        self._busy_orders: set[int] = set()
        self._lock = threading.Lock()

    # -- bookkeeping ----------------------------------------------------------------------
    def notify(self, pair_ids: list[Any]) -> None:
        notify(self.on_update, pair_ids)

    def _finish(self, answers: Sequence[Answer]) -> None:
        """Journal the answers, then write the final outcomes into the frame."""
        for event in ("answer", "settle"):
            rows = [
                {
                    **a.write.journal_row(),
                    "send_id": a.write.send_id,
                    "status": a.outcome.status if a.outcome else None,
                    "error": a.outcome.error if a.outcome else a.error,
                    "message": a.outcome.message if a.outcome else a.message,
                    "response": a.outcome.response if a.outcome else None,
                }
                for a in answers
                if a.event == event
            ]
            if rows:
                self.journal.record_answers(self.key, self.run_id, rows, event=event)
        with self._lock:
            for a in answers:
                self._inflight.pop(id(a.write), None)
        done = [a for a in answers if a.outcome is not None]
        owners = []
        for a in done:
            w, status = a.write, a.outcome.status  # type: ignore[union-attr]
            if status == w.success:
                owners.append((w.item.pair_id, w.owner if w.action != "unbind" else None))
            elif status == "already_bound":  # the portal had it already: it is the owner
                owners.append((w.item.pair_id, w.owner))
        with self.control.lock:  # the frame, the bar and the redraw see whole batches
            idx = self.log.write([a.outcome for a in done])  # type: ignore[misc]
            self.log.set_owners(owners)
            with self._lock:
                self.done += len(done)
            self.bar.update(len(done))
            self.notify(idx)
        self._progress()

    # -- one batch ------------------------------------------------------------------------
    def _before_batch(self, batch: list[Write]) -> list[Write]:
        """The step just before a batch is journaled and sent: the writes that still go.

        The guard (issue 11): re-read these orders' owners now and hold back any that changed
        since planning (:func:`b24nb.binding.guard.guard_batch`); held-back writes are answered
        right away through :meth:`write_held`, the others go.
        """
        return guard_batch(self, batch)

    def write_held(self, outcomes: list[Outcome], order_owners: dict[int, Any] | None = None
                   ) -> None:
        """Write outcomes decided without sending (the guard's) into the frame, as a batch's."""
        with self.control.lock:
            idx = self.log.write(outcomes)
            if order_owners:
                self.log.set_order_owners(order_owners)
            with self._lock:
                self.done += len(outcomes)
            self.bar.update(len(outcomes))
            self.notify(idx)
        self._progress()

    def _send(self, batch: list[Write]) -> None:
        """One batch: guard, journal, send; the answers go into the journal and the frame."""
        batch = self._journal_sends(batch)
        if not batch:
            return
        answers = self._post(batch)
        if answers is not None:
            self._answer(batch, answers)

    def _journal_sends(self, batch: list[Write]) -> list[Write]:
        """Guard the batch and journal the writes that still go (before they leave)."""
        try:
            batch = self._before_batch(batch)
            if not batch:
                return batch
            ids = self.journal.record_sends(
                self.key, self.run_id, [w.journal_row() for w in batch]
            )
        except BaseException:
            # nothing of this batch left: back in the queue, so the rows read "skipped" (not
            # sent), never "pending" (the word for sent without an answer)
            with self._lock:
                self._queue.extendleft(reversed(batch))
            raise
        with self._lock:
            for w, sid in zip(batch, ids, strict=True):
                w.send_id = sid
                w.tries += 1
                self._inflight[id(w)] = w
        return batch

    def _post(self, batch: list[Write]) -> Mapping[str, Any] | None:
        """Send the batch; None when the request as a whole failed and was dealt with here.

        Refused before it ran (auth, access, overload): a final ``failed`` and the run stops.
        Answer lost (unknown outcome, 5xx, a reset after sending): read back. Surely not run
        (a refused connection, a transient limit): resent later.
        """
        commands = {f"w{n}": (w.method, w.params) for n, w in enumerate(batch)}
        try:
            return self.portal.batch(commands)
        except (AuthError, AccessDeniedError, OverloadError) as exc:
            code = _code(exc)
            self._finish(
                [Answer(w, Outcome(w.item.pair_id, "failed", code, str(exc))) for w in batch]
            )
            raise
        except (OutcomeUnknownError, ServerError) as exc:
            self._settle(batch, exc)
        except NetworkError as exc:
            if getattr(exc, "sent", True):
                self._settle(batch, exc)
            else:
                self._retry_later(batch, exc, whole_request=True)
        except LimitError as exc:
            if not exc.transient:
                raise
            self._retry_later(batch, exc, whole_request=True)
        return None

    def _answer(self, batch: list[Write], answers: Mapping[str, Any]) -> None:
        """Answer each command into journal and frame; read back, resend or stop as it says."""
        final: list[Answer] = []
        again: list[Write] = []
        unknown: list[Write] = []
        limit: Any = None
        denied: PortalError | None = None
        for n, w in enumerate(batch):
            res = answers[f"w{n}"]
            answer = _judge(w, res)
            if answer is None:
                unknown.append(w)
                continue
            final.append(answer)
            if answer.outcome is None:  # a transient limit: surely not run, resent
                again.append(w)
                limit = res.error
            elif answer.outcome.status == "failed" and isinstance(
                    res.error, AccessDeniedError | AuthError):
                denied = res.error
        self._finish(final)
        if unknown:
            self._settle(unknown, ServerError("UNKNOWN", "a command failed without an answer"))
        if denied is not None:
            # the right to write orders was taken away mid-run: every later batch would fail
            # the same way, so stop here (the rest reads "skipped"), as for a refused request
            raise denied
        if again:
            self._requeue(again, limit)

    def _retry_later(self, batch: list[Write], exc: PortalError, *, whole_request: bool) -> None:
        code = _code(exc)
        self._finish([Answer(w, None, error=code, message=f"not run: {code}") for w in batch])
        self._requeue(batch, exc, whole_request=whole_request)

    def _requeue(self, batch: list[Write], err: Any, *, whole_request: bool = False) -> None:
        """Put writes that surely did not run back in front (the limiter paces the resend).

        A command refused inside a batch is already booked by the client's limiter (a 429
        blocks its method until ``operating_reset_at``), so the next batch waits there. A
        whole request refused even after the client's own retries gets a short extra pause,
        in the limiter too.
        """
        code = _code(err)
        give_up = [w for w in batch if w.tries >= MAX_TRIES]
        keep = [w for w in batch if w.tries < MAX_TRIES]
        if give_up:
            self._finish(
                [
                    Answer(
                        w,
                        Outcome(
                            w.item.pair_id,
                            "failed",
                            code,
                            f"not run after {w.tries} tries ({code}); rerun to retry",
                        ),
                        event="settle",
                    )
                    for w in give_up
                ]
            )
        if keep:
            if whole_request and self.limiter is not None and hasattr(self.limiter, "pause"):
                self.limiter.pause(5.0, f"retrying after {code}", cancel=self.control.stop_event)
            with self._lock:
                self._queue.extendleft(reversed(keep))

    def _settle(self, batch: list[Write], exc: BaseException) -> None:
        """The answer was lost: read the orders back and settle each write against it."""
        why = _code(exc)
        logger.info("answer of %d writes lost (%s); reading them back", len(batch), why)
        now = read_owners(self.portal, [w.item.order_id for w in batch])
        settled: list[Answer] = []
        again: list[Write] = []
        for w in batch:
            pid, cur = w.item.pair_id, now.get(w.item.order_id)
            if w.applied(cur):
                msg = f"answer lost ({why}); read back shows it applied"
                settled.append(Answer(w, Outcome(pid, w.success, why, msg), "settle"))
            elif cur != w.prev:
                # someone else changed the order meanwhile: never overwrite their change
                msg = f"answer lost ({why}); the order changed meanwhile (now {fmt(cur)})"
                settled.append(Answer(w, Outcome(pid, "failed", why, msg), "settle"))
            elif w.tries >= MAX_TRIES:
                msg = f"not applied after {w.tries} tries ({why}); rerun to retry"
                settled.append(Answer(w, Outcome(pid, "failed", why, msg), "settle"))
            else:
                msg = f"answer lost ({why}); read back shows it not applied; resending"
                settled.append(Answer(w, None, "settle", why, msg))
                again.append(w)
        self._finish(settled)
        with self._lock:
            self._queue.extendleft(reversed(again))


def _judge(w: Write, res: Any) -> Answer | None:
    """The answer of one command of a batch; None when it failed without one (read it back).

    Errors are told apart by their class, never by a code string: a duplicate bind means the
    order has that owner already, a missing relation that the binding is gone.
    """
    pid = w.item.pair_id
    if res.ok:
        return Answer(w, Outcome(pid, w.success, None, _ok_text(w), res.result))
    err, code = res.error, _code(res.error)
    desc = getattr(err, "description", "") or str(err)
    if w.action == "bind" and isinstance(err, DuplicateBindingError):
        return Answer(w, Outcome(pid, "already_bound", code, desc))
    if w.action == "restore" and isinstance(err, DuplicateBindingError):
        # the old owner is back already (an earlier try landed): the undo is done
        return Answer(w, Outcome(pid, "unbound", code, "the owner was back"))
    if w.action == "unbind" and isinstance(err, RelationNotFoundError):
        return Answer(w, Outcome(pid, "unbound", code, "the binding was gone"))
    if isinstance(err, LimitError) and err.transient:
        return Answer(w, None, error=code, message=f"not run: {desc}")
    if isinstance(err, ServerError | NetworkError | NotRunError):
        return None
    return Answer(w, Outcome(pid, "failed", code, desc))


def _ok_text(w: Write) -> str:
    if w.action == "restore":
        return f"gave the order back to {fmt(w.owner)}"
    if w.action == "unbind":
        return f"removed the binding to {fmt(w.owner)}"
    if w.prev is not None:
        return f"moved from {fmt(w.prev)} to {fmt(w.owner)}"
    return f"bound to {fmt(w.owner)}"
