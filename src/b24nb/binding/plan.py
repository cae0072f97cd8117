"""Decide, row by row, what a bind or unbind must do, from the portal and the journal.

Why a separate, pure step: "what would be sent" is exactly what ``dry_run`` reports, what a
rerun must skip, and what the rebind guard must refuse. Given each order's current owner (read
from the portal) and its ledger (folded from the journal), the decision needs no network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from b24nb.binding.validate import Item
from b24nb.binding.write import Write
from b24nb.journal import WRITE_KEYS, Link, OrderLedger
from b24nb.pairs.log import Outcome, fmt

__all__ = ["Plan", "hold_back", "note_row", "plan_bind", "plan_unbind", "settle_orphans"]

Owner = tuple[int, int]
_EMPTY = OrderLedger()


@dataclass
class Plan:
    """The decisions of one run.

    ``writes`` are to be sent; ``outcomes`` are final without a write (their journal
    ``notes``); ``settle`` are earlier unanswered sends settled by this read
    (``(send row, outcome or None)``, None meaning "it did not apply").
    """

    writes: list[Write] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    settle: list[tuple[Mapping[str, Any], Outcome | None]] = field(default_factory=list)


def note_row(item: Item, status: str, message: str, now: Owner | None) -> dict[str, Any]:
    now_id, now_type = now or (None, None)
    return {
        **dict.fromkeys(WRITE_KEYS),  # the journal's one list of what names a write
        "action": "note",
        "pair_id": _pid(item.pair_id),
        "order_id": item.order_id,
        "owner_id": item.owner_id,
        "owner_type_id": item.owner_type_id,
        "prev_owner_id": now_id,
        "prev_owner_type_id": now_type,
        "status": status,
        "message": message,
    }


def _pid(pair_id: Any) -> int | None:
    try:
        return int(pair_id)
    except (TypeError, ValueError):
        return None


def _owner(row: Mapping[str, Any], prefix: str = "") -> Owner | None:
    oid = row[prefix + "owner_id"]
    return None if oid is None else (int(oid), int(row[prefix + "owner_type_id"]))


def _judge(send: Mapping[str, Any], now: Owner | None) -> tuple[bool, str, str]:
    """Did an unanswered ``send`` land, given the owner ``now`` read from the portal?

    Returns ``(applied, status if applied, message)``.
    """
    owner, prev = _owner(send), _owner(send, "prev_")
    if send["action"] == "bind":
        applied, status = now == owner, ("rebound" if prev is not None else "bound")
    elif send["action"] == "restore":
        applied, status = now == owner, "unbound"
    else:
        applied, status = now != owner, "unbound"
    msg = (
        f"an earlier run's answer was lost; the portal shows it "
        f"{'applied' if applied else 'not applied'} (now {fmt(now)})"
    )
    return applied, status, msg


def _settle_pending(plan: Plan, item: Item, ledger: OrderLedger, now: Owner | None) -> bool:
    """Settle an unanswered send of an earlier run against the owner read now.

    Returns True when it applied. Either way a ``settle`` goes into the journal, so the send
    is never settled twice.
    """
    send = ledger.pending
    if send is None:
        return False
    applied, status, msg = _judge(send, now)
    plan.settle.append((send, Outcome(item.pair_id, status, None, msg) if applied else None))
    return applied


def settle_orphans(
    ledgers: Mapping[int, OrderLedger], owners: Mapping[int, Owner]
) -> list[tuple[Mapping[str, Any], Outcome]]:
    """Settle the unanswered sends of orders this run does not act on.

    Why: a send whose answer was lost (a crash, a kill) is settled by the next run that
    selects its order; if the analyst unticked that row, or reran with another frame, no run
    would. Each such send is judged against the owner read now and gets a journal
    ``settle``. The outcome (for the send's ``pair_id``) is ``skipped`` when it did not land:
    it is not resent, since nobody selected it this time.
    """
    out: list[tuple[Mapping[str, Any], Outcome]] = []
    for oid, led in ledgers.items():
        send = led.pending
        if send is None:
            continue
        now = owners.get(oid)
        applied, status, msg = _judge(send, now)
        if not applied:
            status, msg = "skipped", msg + "; not resent: the row is not selected in this run"
        out.append((send, Outcome(send["pair_id"], status, None, msg)))
    return out


def plan_bind(
    items: Sequence[Item],
    owners: Mapping[int, Owner],
    ledgers: Mapping[int, OrderLedger],
    *,
    allow_rebind: bool,
) -> Plan:
    """Decide each selected row of a bind: send, skip as done, or refuse."""
    plan = Plan()
    for it in items:
        now = owners.get(it.order_id)
        led = ledgers.get(it.order_id, _EMPTY)
        landed = _settle_pending(plan, it, led, now)
        if now == it.target:
            pend = led.pending
            if landed and pend is not None and pend["action"] == "bind":
                plan.outcomes.append(plan.settle[-1][1])  # type: ignore[arg-type]
            elif led.ours == it.target:
                when = f" (run {led.ours_run})" if led.ours_run else ""
                at = pd.Timestamp(led.ours_at) if led.ours_at else None
                msg = f"done earlier{when}; nothing sent"
                plan.outcomes.append(
                    Outcome(it.pair_id, led.ours_status or "bound", None, msg, at=at)
                )
            elif led.late(now) is not None:
                # our own earlier send, answer lost and read back absent, landed after all
                _landed_late(plan, it, led, now, list(led.links))
                plan.outcomes.append(plan.settle[-1][1])  # type: ignore[arg-type]
            else:
                msg = f"the order was already bound to {fmt(now)}; nothing sent"
                plan.outcomes.append(Outcome(it.pair_id, "already_bound", None, msg))
                plan.notes.append(note_row(it, "already_bound", msg, now))
        elif now is not None and not allow_rebind:
            msg = (
                f"the order is bound to {fmt(now)}; binding it would silently replace "
                "that owner: pass allow_rebind=True to move it"
            )
            plan.outcomes.append(Outcome(it.pair_id, "needs_rebind", None, msg))
            plan.notes.append(note_row(it, "needs_rebind", msg, now))
        else:
            plan.writes.append(Write(it, "bind", it.target, now))
    return plan


def _landed_late(plan: Plan, item: Item, led: OrderLedger, now: Owner | None,
                 links: list[Link]) -> list[Link]:
    """Count a late-landing bind as b24nb's: a send whose answer was lost, read back absent,
    whose owner the order shows now. It is settled in the journal (so the next fold has it
    as a link) and joins the chain with the owner its send row says it replaced.
    """
    if now is None or (links and links[-1].owner == now):
        return links
    send = led.late(now)
    if send is None:
        return links
    prev = _owner(send, "prev_")
    status = "rebound" if prev is not None else "bound"
    msg = (f"an earlier send (run {send['run_id']}) whose answer was lost landed late: "
           f"the order shows {fmt(now)}; it is b24nb's")
    plan.settle.append((send, Outcome(item.pair_id, status, None, msg)))
    return _push(links, Link(now, prev, send["run_id"], status))


def _push(links: list[Link], link: Link) -> list[Link]:
    return [*links, link] if links and links[-1].owner == link.prev else [link]


def plan_unbind(
    items: Sequence[Item],
    owners: Mapping[int, Owner],
    ledgers: Mapping[int, OrderLedger],
    *,
    run_id: str | None,
) -> Plan:
    """Decide each selected row of an unbind: undo what b24nb made, leave the rest alone.

    The order goes back to the owner it had before the first undone link of its chain
    (:class:`~b24nb.journal.OrderLedger`): the whole chain without ``run_id`` — the owner
    before b24nb touched it — or the tail from ``run_id``'s first link. A tail that later
    runs moved again is left alone (undo those first), and so is an order whose owner
    changed on the portal since b24nb's last write.
    """
    plan = Plan()
    for it in items:
        _unbind_one(plan, it, ledgers.get(it.order_id, _EMPTY), owners.get(it.order_id), run_id)
    return plan


def _unbind_one(plan: Plan, it: Item, led: OrderLedger, now: Owner | None,
                run_id: str | None) -> None:
    """Decide one row of an unbind into ``plan``: a write, or an outcome without one."""
    links = _chain(plan, it, led, now)
    if links is None:
        return
    links = _landed_late(plan, it, led, now, links)
    if not any(link.owner == it.target for link in links):
        plan.outcomes.append(_not_ours(it, led, now))
        return
    if now != links[-1].owner:
        _changed_since(plan, it, led, now, links)
        return
    k, refused = _first_undone(links, run_id)
    if refused is not None:
        plan.outcomes.append(Outcome(it.pair_id, "skipped", None, refused))
        return
    back = links[k].prev
    if back is not None:
        plan.writes.append(Write(it, "restore", back, now))
    else:
        plan.writes.append(Write(it, "unbind", now, now))  # type: ignore[arg-type]


def _chain(plan: Plan, it: Item, led: OrderLedger, now: Owner | None) -> list[Link] | None:
    """The order's chain of b24nb's links, with an earlier unanswered bind that landed.

    None when an earlier unanswered undo landed: settled, the row's outcome is that.
    """
    pend = led.pending
    links = list(led.links)
    if _settle_pending(plan, it, led, now):
        assert pend is not None
        if pend["action"] != "bind":
            plan.outcomes.append(plan.settle[-1][1])  # type: ignore[arg-type]
            return None
        # an unanswered bind of an earlier run did land: it is ours to undo
        links = _push(links, Link(_owner(pend), _owner(pend, "prev_"),  # type: ignore[arg-type]
                                  pend["run_id"]))
    return links


def _not_ours(it: Item, led: OrderLedger, now: Owner | None) -> Outcome:
    """The outcome of a row whose target b24nb's chain does not hold: nothing to undo."""
    if any(link.owner == it.target for link in led.broken):
        msg = (f"b24nb's binding to {fmt(it.target)} was replaced on the portal by "
               f"someone else since (now {fmt(now)}); left alone")
        return Outcome(it.pair_id, "skipped", None, msg)
    if led.last_status == "unbound" and now != it.target:
        msg = f"undone earlier (run {led.last_run}); nothing sent"
        return Outcome(it.pair_id, "unbound", None, msg)
    return Outcome(it.pair_id, "skipped", None, "not bound by b24nb; left alone")


def _changed_since(plan: Plan, it: Item, led: OrderLedger, now: Owner | None,
                   links: list[Link]) -> None:
    """The order's owner is not b24nb's last: a late-landing undo of ours, or someone else's."""
    if (undo := led.late_undo(now)) is not None:
        # an earlier undo whose answer was lost (read back: not applied) landed after all
        msg = (f"an earlier undo (run {undo['run_id']}) whose answer was lost landed late: "
               f"the order shows {fmt(now)}")
        plan.settle.append((undo, Outcome(it.pair_id, "unbound", None, msg)))
        plan.outcomes.append(plan.settle[-1][1])  # type: ignore[arg-type]
        return
    msg = (f"changed on the portal since b24nb bound it to {fmt(links[-1].owner)} "
           f"(now {fmt(now)}); left alone")
    plan.outcomes.append(Outcome(it.pair_id, "skipped", None, msg))
    plan.notes.append(note_row(it, "skipped", msg, now))


def _first_undone(links: list[Link], run_id: str | None) -> tuple[int, str | None]:
    """The first link to undo (0: the whole chain), or why ``run_id``'s links cannot be.

    Returns ``(index, None)``, or ``(0, message)`` when the row is left alone.
    """
    if run_id is None:
        return 0, None
    mine = [n for n, link in enumerate(links) if link.run == run_id]
    if not mine:
        return 0, f"bound by run {links[-1].run}, not {run_id}; left alone"
    k = mine[0]
    later = sorted({str(link.run) for link in links[k:] if link.run != run_id})
    if later:
        return 0, (f"moved again by run {', '.join(later)} after run {run_id}; left "
                   "alone: undo that run first, or unbind without run_id")
    return k, None


def hold_back(
    writes: Sequence[Write], now: Mapping[int, Owner]
) -> tuple[list[Write], list[Outcome], list[dict[str, Any]]]:
    """Split a batch about to be sent by the owners re-read just now (the guard).

    Every write was planned against the owner its order had then (``write.prev``). If the
    order's owner changed since — a colleague, another b24nb process — the write is held
    back: a bind reads ``needs_rebind`` (or ``already_bound`` when the order now has exactly
    the target owner), an undo reads ``skipped``; the message names the new owner. Even with
    ``allow_rebind`` a bind is held: the analyst agreed to replace the owner they saw, not one
    set behind their back.

    Returns ``(writes to send, outcomes held back, their journal notes)``.
    """
    keep: list[Write] = []
    held: list[Outcome] = []
    notes: list[dict[str, Any]] = []
    for w in writes:
        cur = now.get(w.item.order_id)
        if cur == w.prev:
            keep.append(w)
            continue
        was = fmt(w.prev)
        if w.action == "bind" and cur == w.item.target:
            status, msg = "already_bound", (
                f"bound to {fmt(cur)} by someone else since b24nb read it ({was}); nothing sent")
        elif w.action == "bind":
            status, msg = "needs_rebind", (
                f"the owner changed since b24nb read it: {was} then, {fmt(cur)} now; held "
                "back, not sent: review it and bind again (allow_rebind=True moves it)")
        else:
            status, msg = "skipped", (
                f"changed on the portal since b24nb read it ({was} then, {fmt(cur)} now); "
                "left alone")
        held.append(Outcome(w.item.pair_id, status, None, msg))
        notes.append(note_row(w.item, status, msg, cur))
    return keep, held, notes
