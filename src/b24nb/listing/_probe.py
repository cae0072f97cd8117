"""``SharedProbe``: the first request of several ID walks started together, sent as one.

Why: every ID walk opens with a probe (its first page with the count, and its highest ID).
A loader that reads three lists at once — ``load_orders``: the orders, their customer links
and their properties — would spend three requests on three probes of two commands each. Sent
as one batch of six commands they cost one request, and the two requests saved let the
longest walks cut their batches shorter (``spare``) within the loader's request budget.

How: each walk hands its probe commands to :meth:`SharedProbe.batch` from its own thread.
The thread that completes the group sends the one batch and every member gets its own
answers back under its own keys. A member that is late (or never comes: a walk that took
the offset path, a loader that failed first) does not hold the others up for more than
``wait`` seconds: whoever is waiting then sends what has gathered, and the late one sends
its probe alone, as if there were no group. Each member learns whether its round held
every member: only then did the group save requests, and only then may a walk spend them.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any

from b24nb.errors import PortalError
from b24nb.wire import CommandResult

__all__ = ["SharedProbe"]

Commands = dict[str, tuple[str, dict[str, Any]]]


class _Round:
    """One combined request: the members' commands, then its answers or its error."""

    def __init__(self) -> None:
        self.commands: Commands = {}
        self.members = 0
        self.sent = False
        self.done = threading.Event()
        self.results: dict[str, CommandResult] = {}
        self.error: Exception | None = None


class SharedProbe:
    """Gather the probe commands of ``members`` walks into one ``batch`` request.

    Parameters
    ----------
    portal
        Anything with ``batch(commands, halt=...)`` (a :class:`b24nb.portal.Portal`).
    members : int
        How many walks will probe through this object.
    wait : float
        Seconds a member waits for the others before its round is sent without them.
    """

    def __init__(self, portal: Any, members: int, *, wait: float = 0.25) -> None:
        self._portal = portal
        self._expected = max(1, int(members))
        self._wait = wait
        self._lock = threading.Lock()
        self._round = _Round()
        self._joined = 0
        self.requests = 0  # combined requests sent (for tests and benchmarks)

    def batch(self, commands: Mapping[str, tuple[str, dict[str, Any]]]
              ) -> tuple[dict[str, CommandResult], bool]:
        """Send ``commands`` with the other members'; return this member's answers, and
        whether the request held every member's (only then were requests saved)."""
        with self._lock:
            self._joined += 1
            if self._joined > self._expected or self._round.sent:
                own = None  # too late (or one member too many): alone, as without a group
            else:
                own = self._round
                prefix = f"m{own.members}_"
                own.members += 1
                own.commands.update({prefix + k: v for k, v in commands.items()})
                last = self._joined == self._expected
        if own is None:
            return self._portal.batch(dict(commands)), False
        if last or not own.done.wait(self._wait):
            self._send(own)  # complete, or the others are late: send what has gathered
        own.done.wait()
        if own.error is not None:
            # each member raises its own copy: one object raised in several threads would
            # gather all of their tracebacks
            raise _own_copy(own.error) from None
        mine = {k[len(prefix):]: r for k, r in own.results.items() if k.startswith(prefix)}
        if set(mine) != set(commands):
            raise PortalError("PROBE_INCOMPLETE", "the shared first request came back without "
                              "some of this list's commands", method=next(iter(
                                  commands.values()))[0])
        return mine, own.members == self._expected

    def _send(self, round_: _Round) -> None:
        with self._lock:
            if round_.sent:
                return
            round_.sent = True
            commands = dict(round_.commands)
        try:
            round_.results = self._portal.batch(commands)
            self.requests += 1
        except Exception as err:  # every member's list fails with it, as each alone would
            round_.error = err
        except BaseException:  # an interrupt here: the others stop too, then it goes on up
            round_.error = PortalError("STOPPED", "the list was stopped")
            raise
        finally:
            round_.done.set()


def _own_copy(error: Exception) -> Exception:
    """A copy of ``error`` for one member to raise (the original when it cannot be copied)."""
    try:
        return copy.copy(error)
    except Exception:  # an exception type whose constructor copy cannot call again
        return error
