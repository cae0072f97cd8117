"""The ledger of one order: what the journal says b24nb did to it, folded from its events.

Why a fold and not a "current state" table: the journal is append-only, so state is always
derived; a half-written run (a send with no answer) folds into ``pending``, which the next
run settles by reading the order back.

Why a chain and not one "replaced owner": an order may be moved by b24nb more than once
(deal 51 → 11 in one run, 11 → 21 in the next). Each b24nb write is a :class:`Link` that
remembers the owner the order had just before it; consecutive links form the chain, and
undoing the chain (or its tail from one run on) gives the order back the owner it had before
the first undone link — deal 51 after both runs are undone, whatever order they are undone
in. A write by someone else between two of ours starts a new chain: b24nb never restores an
owner that someone else replaced after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from b24nb.pairs import MADE

__all__ = ["MADE", "Link", "OrderLedger", "fold"]


Owner = tuple[int, int]


@dataclass(frozen=True)
class Link:
    """One b24nb bind still in effect: ``owner`` set, replacing ``prev`` (None: unbound)."""

    owner: Owner
    prev: Owner | None
    run: str | None = None
    status: str | None = None
    at: str | None = None


@dataclass(frozen=True)
class OrderLedger:
    """What the journal says about one order on one portal (a fold of its events).

    Attributes
    ----------
    chain : tuple[Link, ...]
        b24nb's binds of this order in effect, oldest first; each link's ``prev`` is the
        previous link's ``owner``. ``chain[0].prev`` is the owner the order had before b24nb
        touched it.
    ours : tuple[int, int] | None
        The binding b24nb made last and has not undone (``chain[-1].owner``).
    replaced : tuple[int, int] | None
        The owner that binding replaced (``chain[-1].prev``), None when it was unbound.
    ours_status : str | None
        How that binding was made (``bound``/``rebound``/``already_bound`` after a resend).
    pending : Mapping | None
        The last send with no recorded answer, if any (a row of the ``events`` table).
    doubtful : tuple[Mapping, ...]
        Sends whose answer was lost and that a read-back found not applied (yet): a bind
        that lands late is still b24nb's (its send row says what it replaced), an undo that
        lands late still undid b24nb's chain.
    last_status : str | None
        The status of the last answer or settlement about this order.
    last_run, ours_run, ours_at : str | None
        The run of the last status; the run and time (UTC) of the binding that is ours.
    broken : tuple[Link, ...]
        Links of earlier chains that someone else's write replaced (b24nb's next write found
        another owner than the one it had set): never restored, never undone.
    """

    ours: Owner | None = None
    replaced: Owner | None = None
    ours_status: str | None = None
    pending: Mapping[str, Any] | None = None
    last_status: str | None = None
    last_run: str | None = None
    ours_run: str | None = None
    ours_at: str | None = None
    chain: tuple[Link, ...] = field(default=())
    doubtful: tuple[Mapping[str, Any], ...] = field(default=())
    broken: tuple[Link, ...] = field(default=())

    @property
    def links(self) -> tuple[Link, ...]:
        """The chain (a ledger built by hand with only ``ours`` gets a one-link chain)."""
        if self.chain or self.ours is None:
            return self.chain
        return (Link(self.ours, self.replaced, self.ours_run, self.ours_status, self.ours_at),)

    def late(self, owner: Owner | None) -> Mapping[str, Any] | None:
        """The newest doubtful bind send that set ``owner``, if any (a late-landing write)."""
        for send in reversed(self.doubtful):
            if send["action"] == "bind" and _owner(send) == owner:
                return send
        return None

    def late_undo(self, now: Owner | None) -> Mapping[str, Any] | None:
        """The newest doubtful undo that would leave the order as ``now`` (landed late)."""
        for send in reversed(self.doubtful):
            if send["action"] == "restore" and _owner(send) == now:
                return send
            if send["action"] == "unbind" and now is None:
                return send
        return None


def _owner(row: Mapping[str, Any], prefix: str = "") -> Owner | None:
    oid, tid = row[prefix + "owner_id"], row[prefix + "owner_type_id"]
    return None if oid is None or tid is None else (int(oid), int(tid))


def _push(chain: list[Link], link: Link, broken: list[Link]) -> list[Link]:
    """Add a link; a link that does not start where the chain ends starts a new chain."""
    if chain and chain[-1].owner == link.prev:
        return [*chain, link]
    broken.extend(chain)
    return [link]


def _undo(chain: list[Link], restored: Owner | None) -> list[Link]:
    """The chain after an undo gave the order back ``restored`` (None: unbound).

    The undone links are the tail from the last link whose ``prev`` is ``restored``; what is
    left ends on ``restored`` again. An undo matching no link clears the chain.
    """
    for k in range(len(chain) - 1, -1, -1):
        if chain[k].prev == restored:
            return chain[:k]
    return []


def fold(events: Iterable[Mapping[str, Any]]) -> OrderLedger:
    """Fold one order's events (oldest first) into an :class:`OrderLedger`.

    Rules: an answer or settlement with no status says the write did not run (a limit
    refusal; or a read-back that found it not applied, which makes a bind *doubtful*: it may
    land later) and only clears ``pending``. A bind answered or settled ``bound``/``rebound``
    adds a link to the chain. ``already_bound`` adds one only for a resend (an earlier try
    of the same write may have landed late), or when it is a finding with no send of its own
    that matches a doubtful send of ours (that send landed late). An undo answered
    ``unbound`` takes links off.
    """
    chain: list[Link] = []
    broken: list[Link] = []
    doubtful: list[Mapping[str, Any]] = []
    pending = last_status = last_run = None
    sends: dict[int, dict[str, Any]] = {}
    tried: set[tuple[Any, ...]] = set()  # writes sent since the last success
    for ev in events:
        kind = ev["event"]
        if kind == "send":
            key = (ev["action"], _owner(ev))
            sends[ev["id"]] = pending = {**ev, "resend": key in tried}
            tried.add(key)
            continue
        if kind not in ("answer", "settle", "note"):
            continue
        send = sends.get(ev["send_id"]) if ev["send_id"] is not None else None
        if send is not None and pending is not None and pending["id"] == send["id"]:
            pending = None
        status = ev["status"]
        made = send is not None and send["action"] == "bind" and (
            status in MADE or (status == "already_bound" and send["resend"]))
        undone = send is not None and send["action"] != "bind" and status == "unbound"
        if send is not None and kind == "settle" and not (made or undone):
            doubtful.append(send)  # answer lost, read back absent: it may still land
        if status is None:
            continue
        last_status, last_run = status, ev["run_id"]
        if send is None and status == "already_bound":
            # found at its target without sending (the plan's read or the guard's re-read):
            # when a doubtful send of ours set exactly that owner, that send landed late
            send = next((d for d in reversed(doubtful)
                         if d["action"] == "bind" and _owner(d) == _owner(ev)), None)
            made = send is not None
        if send is None:
            continue
        if made:
            link = Link(_owner(send), _owner(send, "prev_"), ev["run_id"], status, ev["at"])  # type: ignore[arg-type]
            chain = _push(chain, link, broken)
            doubtful = [d for d in doubtful if _owner(d) != link.owner]
            tried.clear()
        elif undone:
            restored = _owner(send) if send["action"] == "restore" else None
            chain = _undo(chain, restored)
            doubtful = [d for d in doubtful if d["action"] == "bind"]
            tried.clear()
    last = chain[-1] if chain else None
    return OrderLedger(
        ours=last.owner if last else None,
        replaced=last.prev if last else None,
        ours_status=last.status if last else None,
        pending=pending,
        last_status=last_status,
        last_run=last_run,
        ours_run=last.run if last else None,
        ours_at=last.at if last else None,
        chain=tuple(chain),
        doubtful=tuple(doubtful),
        broken=tuple(broken),
    )
