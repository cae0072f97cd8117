"""The guard re-checked before each batch: no order moves because someone else moved it first.

Why: the plan is made from owners read at the start of a run, and a run of thousands of
writes takes minutes at the portal's pace. Meanwhile a colleague (or a second b24nb process)
may bind an order the plan saw unbound, and ``crm.orderentity.add`` would replace that owner
without a word. So just before a batch is sent, :func:`guard_batch` re-reads the owners of
its orders (one request: one exact ``orderId`` command per order) and holds back every write
whose order changed since planning (:func:`b24nb.binding.plan.hold_back`).

Why the re-read is a request of its own and not folded into the write batch: a ``batch``
runs its commands in order but cannot make a write depend on what a read found — ``halt``
stops only on an *error*, and a read that finds a new owner is a success. A read folded in
front of the adds would only tell, after the fact, that an add had already replaced
someone's owner.

**The remaining window.** Between the re-read's answer and the moment the portal runs the add
there is a gap — the client's turnaround (journal commit, one round trip) plus, on a real
portal, the adds before it in the same batch (≈0.33 s each: add k of a batch runs about
k × 0.33 s after the batch starts). A colleague's write landing inside it is replaced silently:
the server's add replaces without a check, and no documented API offers a conditional bind,
so this window cannot be closed from the client, only kept short. The journal then records
the owner the re-read saw as the replaced one, so ``unbind()`` restores that one, not the
colleague's: the colleague's write is lost. ``benchmarks/soak_bind.py`` measures the window
(re-read answered → write batch sent: ~10 ms median on the sandbox, which runs a batch's
commands when it arrives) and counts the writes that fell into it.

Not done, for want of server confirmation: two quirks of the server code (research §1, §4)
could make the guard part of the write batch itself, with ``halt=1``: per order, a list of
its binding, then ``crm.orderentity.add`` of ``(order, $result[list][orderEntity][0][ownerId],
…[ownerTypeId])`` — a duplicate error (halting the batch) when the order has any owner, a
no-op add (``ownerId`` cast to 0) when it has none — then the real add; for a rebind,
``deleteByFilter`` of the expected owner fails (halts) when the owner changed. Both rest on
[UNCONFIRMED] behaviour (partial ``$result`` paths, ``ownerId`` 0 saving nothing) and would
need a live portal to trust.
"""

from __future__ import annotations

import logging
from typing import Any

from b24nb.binding.owners import recheck_owners
from b24nb.binding.plan import hold_back, note_row
from b24nb.errors import AccessDeniedError, AuthError, OverloadError
from b24nb.pairs.log import Outcome

__all__ = ["guard_batch"]

logger = logging.getLogger(__name__)


def guard_batch(sender: Any, batch: list[Any]) -> list[Any]:
    """Re-read the owners of ``batch`` and return the writes still safe to send.

    Held-back writes get their outcome in the frame and a journal note right away, and the
    frame's current-owner columns take the owner read now. ``sender`` is the running
    :class:`~b24nb.binding.sender.Sender` (its portal, journal, frame log, bar, callback).
    """
    if not batch:
        return batch
    try:
        now = recheck_owners(sender.portal, [w.item.order_id for w in batch])
    except (AuthError, AccessDeniedError, OverloadError) as exc:
        # refused before anything ran, as a refused write batch is: a final "failed" for
        # these rows (with the portal's code), then the run stops. The list is emptied in
        # place so the sender does not also mark these rows "skipped".
        code = str(exc.code or type(exc).__name__)
        out = [Outcome(w.item.pair_id, "failed", code, f"not sent: {exc}") for w in batch]
        sender.journal.note(sender.key, sender.run_id, [
            {**note_row(w.item, "failed", o.message, w.prev), "error": code}
            for w, o in zip(batch, out, strict=True)])
        sender.write_held(out)
        batch.clear()
        raise
    keep, held, notes = hold_back(batch, now)
    if held:
        logger.info("guard: %d of %d writes held back (owner changed since planning)",
                    len(held), len(batch))
        sender.journal.note(sender.key, sender.run_id, notes)
        sender.write_held(held, {n["order_id"]: now.get(n["order_id"]) for n in notes})
    return keep
