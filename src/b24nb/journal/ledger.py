"""The ledger of one order: what the journal says b24nb did to it, folded from its events.

Why a fold and not a "current state" table: the journal is append-only, so state is always
derived; a half-written run (a send with no answer) folds into ``pending``, which the next
run settles by reading the order back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MADE", "OrderLedger", "fold"]

#: statuses that mean "this write made the binding it asked for"
MADE = frozenset({"bound", "rebound"})


@dataclass(frozen=True)
class OrderLedger:
    """What the journal says about one order on one portal (a fold of its events).

    Attributes
    ----------
    ours : tuple[int, int] | None
        The (owner_id, owner_type_id) binding that b24nb made and has not undone.
    replaced : tuple[int, int] | None
        The owner that binding replaced (restored by ``unbind``), None when it was unbound.
    ours_status : str | None
        How that binding was made (``bound``/``rebound``/``already_bound`` after a resend).
    pending : Mapping | None
        The last send with no recorded answer, if any (a row of the ``events`` table).
    last_status : str | None
        The status of the last answer or settlement about this order.
    last_run, ours_run, ours_at : str | None
        The run of the last status; the run and time (UTC) of the binding that is ours.
    """

    ours: tuple[int, int] | None = None
    replaced: tuple[int, int] | None = None
    ours_status: str | None = None
    pending: Mapping[str, Any] | None = None
    last_status: str | None = None
    last_run: str | None = None
    ours_run: str | None = None
    ours_at: str | None = None


def _owner(row: Mapping[str, Any], prefix: str = "") -> tuple[int, int] | None:
    oid, tid = row[prefix + "owner_id"], row[prefix + "owner_type_id"]
    return None if oid is None or tid is None else (int(oid), int(tid))


def fold(events: Iterable[Mapping[str, Any]]) -> OrderLedger:
    """Fold one order's events (oldest first) into an :class:`OrderLedger`.

    Why a fold and not a "current state" table: the journal is append-only, so state is
    always derived, and a half-written run (a send with no answer) folds into ``pending``.

    Rules: an answer or settlement with no status says the write surely did not run (a
    limit refusal, a read-back that found it not applied) and only clears ``pending``. A bind
    answered ``bound``/``rebound`` makes the binding ours. ``already_bound`` makes it ours
    only for a resend (an earlier try of the same write may have landed late). ``unbound``
    ends our claim.
    """
    ours = replaced = pending = ours_status = last_status = last_run = ours_run = None
    ours_at = None
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
        if status is None:
            continue
        last_status, last_run = status, ev["run_id"]
        if send is None:
            continue
        if send["action"] == "bind" and (
            status in MADE or (status == "already_bound" and send["resend"])
        ):
            ours, replaced, ours_status = _owner(send), _owner(send, "prev_"), status
            ours_run, ours_at = ev["run_id"], ev["at"]
            tried.clear()
        elif send["action"] != "bind" and status == "unbound":
            ours = replaced = ours_status = ours_run = ours_at = None
            tried.clear()
    return OrderLedger(
        ours, replaced, ours_status, pending, last_status, last_run, ours_run, ours_at
    )
