"""Run claims: one b24nb run per order at a time, across processes sharing a journal.

Why: two runs over the same orders (two notebooks, a script and a notebook) would each plan
from what they read and then overwrite each other's binds — both reporting ``bound``. A run
now claims its orders in the journal before it reads or writes them; a second run skips the
orders another live run holds (``skipped``, naming that run), or waits for them if asked.

Why a lease: a killed process (SIGKILL, a closed laptop) never releases. Each run holds its
claims for ``lease`` seconds past its last heartbeat; a thread renews the lease while the run
lives, so a dead run's claims lapse by themselves and the next run takes them over. A claim
names its process (host and pid): on the same machine, a dead holder's claims lapse at once.

Claims are journal events like every other (``claim`` per order, ``lease`` per renewal,
``release`` at the end), so the journal stays append-only and the audit trail shows who held
what. Claiming runs in one ``BEGIN IMMEDIATE`` transaction: of two processes claiming at
once, SQLite lets one in first, and the other sees its claims.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from b24nb.journal.keys import portal_site
from b24nb.limits import SystemClock

if TYPE_CHECKING:
    from b24nb.journal.store import Journal

__all__ = ["LEASE", "Claims", "describe"]

logger = logging.getLogger(__name__)

#: seconds a run's claims outlive its last heartbeat (a killed run blocks no longer)
LEASE = 60.0


def _alive(holder: str | None) -> bool:
    """False when the claiming process ran on this machine and is gone (killed, crashed).

    Why: the lease frees a dead run's orders within a minute anywhere; on the same machine a
    rerun right after a kill need not wait for it. A process id reused since is read as
    alive, which only means waiting for the lease.
    """
    try:
        info = json.loads(holder or "{}")
        if info.get("host") != socket.gethostname():
            return True
        os.kill(int(info["pid"]), 0)
    except ProcessLookupError:
        return False
    except (ValueError, KeyError, TypeError, PermissionError, OSError):
        return True
    return True


class Claims:
    """The claims of one run on one portal (use as a context manager: released on exit).

    Parameters
    ----------
    journal : Journal
        Writable journal shared by the runs.
    portal : str
        The portal's journal key (claims are per portal site, whichever user).
    run_id : str
        This run.
    lease : float
        Seconds the claims outlive the last heartbeat.
    clock : callable
        Wall-clock seconds (``time.time``), shared by the processes.
    """

    def __init__(self, journal: Journal, portal: str, run_id: str, *, lease: float = LEASE,
                 clock: Callable[[], float] = time.time) -> None:
        self.journal, self.portal, self.run_id = journal, portal, run_id
        self.lease, self.clock = float(lease), clock
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    # -- claiming ----------------------------------------------------------------------
    def holders(self, order_ids: Iterable[int]) -> dict[int, tuple[str, float]]:
        """``{order: (run_id, lease until)}`` for orders another live run holds."""
        with self.journal._lock:
            return self._holders(list(order_ids))

    def _holders(self, ids: list[int]) -> dict[int, tuple[str, float]]:
        if not ids:
            return {}
        db, now, site = self.journal._db, self.clock(), portal_site(self.portal)
        claims: list[tuple[int, str, str | None]] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            claims += db.execute(
                "SELECT order_id, run_id, response FROM events WHERE event = 'claim' "
                f"AND order_id IN ({', '.join('?' * len(chunk))}) AND run_id != ? "
                "AND b24nb_site(portal) = ?", [*chunk, self.run_id, site]).fetchall()
        # each holding run once: released?, and how long its lease lasts
        until: dict[str, float | None] = {}
        for run in {r for _, r, _ in claims}:
            if db.execute("SELECT 1 FROM events WHERE run_id = ? AND event = 'release' "
                          "LIMIT 1", [run]).fetchone():
                until[run] = None
                continue
            row = db.execute("SELECT max(CAST(message AS REAL)) FROM events WHERE run_id = ? "
                             "AND event IN ('claim', 'lease')", [run]).fetchone()
            until[run] = None if row is None or row[0] is None else float(row[0])
        out: dict[int, tuple[str, float]] = {}
        for oid, run, holder in claims:
            end = until.get(run)
            if end is not None and end > now and _alive(holder):
                prev = out.get(int(oid))
                if prev is None or end > prev[1]:
                    out[int(oid)] = (str(run), end)
        return out

    def claim(self, order_ids: Iterable[int]) -> dict[int, tuple[str, float]]:
        """Claim the orders no other live run holds; return those held by others.

        One transaction: the check and the claim cannot interleave with another process's.
        Starts the heartbeat that keeps the lease alive.
        """
        ids = sorted({int(o) for o in order_ids})
        from b24nb.journal.store import JournalError, _now

        try:
            with self.journal._lock:
                db = self.journal._db
                db.execute("BEGIN IMMEDIATE")
                try:
                    held = self._holders(ids)
                    until = repr(self.clock() + self.lease)
                    at = _now()
                    me = json.dumps({"host": socket.gethostname(), "pid": os.getpid()})
                    db.executemany(
                        "INSERT INTO events (at, portal, run_id, event, order_id, message, "
                        "response) VALUES (?, ?, ?, 'claim', ?, ?, ?)",
                        [(at, self.portal, self.run_id, o, until, me)
                         for o in ids if o not in held],
                    )
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        except JournalError:
            raise
        except Exception as exc:  # sqlite3.Error: say which file and that nothing was sent
            raise JournalError(f"cannot claim orders in the b24nb journal at "
                               f"{self.journal.path} ({exc}); nothing was sent") from exc
        self._start()
        return held

    def wait(self, order_ids: Iterable[int], timeout: float,
             sleep: Callable[[float], None] | None = None) -> dict[int, tuple[str, float]]:
        """Claim, waiting up to ``timeout`` seconds for orders other runs hold.

        Claims and their leases are on the wall clock (they are shared between processes),
        so the waiting is too: ``sleep`` defaults to :class:`b24nb.limits.SystemClock`'s, the
        one sleeper. Returns the orders still held by others when the time is up (empty: all
        claimed).
        """
        sleep = sleep or SystemClock().sleep
        todo = sorted({int(o) for o in order_ids})
        end = self.clock() + max(0.0, timeout)
        held = self.claim(todo)
        while held and self.clock() < end:
            logger.info("waiting for %d orders claimed by run(s) %s", len(held),
                        ", ".join(sorted({r for r, _ in held.values()})))
            sleep(min(1.0, max(0.05, end - self.clock())))
            held = self.claim(list(held))
        return held

    # -- the lease -----------------------------------------------------------------------
    def renew(self) -> None:
        """Push the lease ``lease`` seconds past now (the heartbeat calls this)."""
        self.journal._append([{"portal": self.portal, "run_id": self.run_id, "event": "lease",
                               "message": repr(self.clock() + self.lease)}])

    def _start(self) -> None:
        if self._beat is not None:
            return
        self._beat = threading.Thread(target=self._run, name="b24nb-lease", daemon=True)
        self._beat.start()

    def _run(self) -> None:
        while not self._stop.wait(max(0.05, self.lease / 3)):
            try:
                self.renew()
            except Exception:  # a closed journal ends the heartbeat; the lease then lapses
                logger.debug("lease heartbeat stopped", exc_info=True)
                return

    def release(self) -> None:
        """Give up every claim of this run (the end of a run, also on an error)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        try:
            self.journal._append([{"portal": self.portal, "run_id": self.run_id,
                                   "event": "release", "response": {"released": True}}])
        except Exception:  # the lease lapses by itself; never mask the run's own error
            logger.warning("could not release the claims of run %s; they lapse in %.0f s",
                           self.run_id, self.lease, exc_info=True)

    def __enter__(self) -> Claims:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def describe(held: tuple[str, float]) -> str:
    """``run X (another b24nb run, lease until 20:41:07 UTC)`` for messages."""
    run, until = held
    stamp = time.strftime("%H:%M:%S", time.gmtime(until))
    return f"run {run} (another b24nb run on this journal; its claim lapses {stamp} UTC)"
