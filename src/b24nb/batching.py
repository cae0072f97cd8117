"""One resend loop for the commands of a read batch that came back failed.

Why one: ``portal.batch`` hands back per-command errors instead of raising them, and every
reader of many independent commands (the list's range counts, the loaders' ``*.get`` batches)
must do the same thing with them — keep the good answers, send the transient failures again
after the limiter's wait, raise on anything else — and must agree on when to give up. Three
private copies of that loop had started to drift; this is the one.

The commands are reads, so resending is always safe. ``attempt`` counts failed rounds *in a
row*: a round in which some commands went through starts it again, so a long run that sits
out several operating-time resets does not run out of retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from b24nb.errors import PortalError
from b24nb.wire import CommandResult

__all__ = ["BatchPortal", "Commands", "back_off", "headroom", "resend_failed"]

log = logging.getLogger(__name__)

Commands = Mapping[str, tuple[str, Mapping[str, Any]]]

_ATTEMPTS = 4  # for a stand-in portal without a limiter


class BatchPortal(Protocol):
    """What the loop needs of a portal: ``batch``; ``limiter``/``stats`` when it has them."""

    def batch(self, commands: Commands, *, halt: bool = False
              ) -> dict[str, CommandResult]: ...


def headroom(portal: Any) -> float:
    """Requests the shared bucket would let through right now without waiting (0 if unknown).

    Why callers ask: a few more, shorter batches sent at once finish sooner than one long
    one (a batch's commands run one after another on the server), but only while the burst
    lasts — past it, extra requests just queue.
    """
    bucket = getattr(getattr(portal, "limiter", None), "bucket", None)
    try:
        return max(0.0, float(bucket.capacity) - float(bucket.level))  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        return 0.0


def back_off(portal: Any, error: PortalError, attempt: int) -> bool:
    """Wait as the portal's limiter says before resending; False when it says give up."""
    limiter = getattr(portal, "limiter", None)
    if limiter is None:  # a stand-in portal without limits: a few immediate retries
        return attempt < _ATTEMPTS
    limiter.on_error(error, [error.method] if error.method else [])
    if not limiter.backoff(error, attempt):
        return False
    stats = getattr(portal, "stats", None)
    if stats is not None:
        stats._add("retries")
    return True


def resend_failed(
    portal: BatchPortal,
    commands: Commands,
    *,
    skip: Callable[[PortalError], bool] = lambda error: False,
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, CommandResult]:
    """Run ``commands`` (at most 50) until each has an answer; return them in order.

    A transient per-command error (a command refused by the operating-time limit, a server
    hiccup) is resent after :func:`back_off`; an error for which ``skip(error)`` is true (a
    record deleted meanwhile) is returned as it is; any other error raises, as does a
    transient one the limiter gives up on, or any failure once ``stop()`` is true — a partial
    answer must never pass for a complete one.
    """
    done: dict[str, CommandResult] = {}
    todo = dict(commands)
    attempt = 0
    while todo:
        answers = portal.batch(todo)
        again: dict[str, tuple[str, Mapping[str, Any]]] = {}
        failure: PortalError | None = None
        for key, command in todo.items():
            answer = answers[key]
            error = answer.error
            if answer.ok or (error is not None and skip(error)):
                done[key] = answer
            elif error is not None and error.transient and not stop():
                again[key] = command
                failure = failure or error
            else:
                raise error or PortalError("", "batch command failed", method=command[0])
        if not again or failure is None:
            break
        if len(again) < len(todo):
            attempt = 0
        if not back_off(portal, failure, attempt):
            raise failure
        attempt += 1
        log.info("resending %d command(s) after %s", len(again), failure.code)
        todo = again
    return {key: done[key] for key in commands}
