"""What each row needs, decided from the portal's owner and the journal (pure), and the
batched owner read it is decided from (over HTTP)."""

from __future__ import annotations

import pytest

from b24nb.binding.owners import read_owners, split_ranges
from b24nb.binding.plan import plan_bind, plan_unbind
from b24nb.binding.validate import Item
from b24nb.journal import OrderLedger
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox

ITEM = Item(pair_id=0, order_id=10, owner_id=5, owner_type_id=2)
SEND = {
    "id": 1,
    "action": "bind",
    "owner_id": 5,
    "owner_type_id": 2,
    "prev_owner_id": None,
    "prev_owner_type_id": None,
    "run_id": "r1",
    "method": "crm.orderentity.add",
    "pair_id": 0,
    "order_id": 10,
}


@pytest.mark.parametrize(
    ("now", "ledger", "allow", "status", "sends"),
    [
        (None, OrderLedger(), False, None, True),  # unbound: send
        ((5, 2), OrderLedger(), False, "already_bound", False),  # someone else's
        ((5, 2), OrderLedger(ours=(5, 2), ours_status="bound"), False, "bound", False),  # done
        ((7, 2), OrderLedger(), False, "needs_rebind", False),  # guard
        ((7, 2), OrderLedger(), True, None, True),  # allowed rebind
        ((5, 2), OrderLedger(pending=SEND), False, "bound", False),  # lost answer, landed
        (None, OrderLedger(pending=SEND), False, None, True),  # lost, not landed
        ((5, 31), OrderLedger(), False, "needs_rebind", False),  # same id, other type
    ],
)
def test_plan_bind_table(now, ledger, allow, status, sends):
    owners = {} if now is None else {10: now}
    plan = plan_bind([ITEM], owners, {10: ledger}, allow_rebind=allow)
    assert bool(plan.writes) is sends
    if status is not None:
        assert [o.status for o in plan.outcomes] == [status]
    if sends:
        assert plan.writes[0].prev == now
    if ledger.pending is not None:
        assert len(plan.settle) == 1  # a lost answer is settled exactly once


@pytest.mark.parametrize(
    ("now", "ledger", "run_id", "action", "status"),
    [
        ((5, 2), OrderLedger(ours=(5, 2), ours_run="r1"), None, "unbind", None),
        ((5, 2), OrderLedger(ours=(5, 2), replaced=(7, 2), ours_run="r1"), None, "restore", None),
        ((5, 2), OrderLedger(), None, None, "skipped"),  # not ours
        ((9, 2), OrderLedger(ours=(5, 2), ours_run="r1"), None, None, "skipped"),  # changed
        ((5, 2), OrderLedger(ours=(5, 2), ours_run="r1"), "r2", None, "skipped"),  # other run
        (None, OrderLedger(last_status="unbound", last_run="r3"), None, None, "unbound"),
        ((5, 2), OrderLedger(pending=SEND), None, "unbind", None),  # lost bind landed
    ],
)
def test_plan_unbind_table(now, ledger, run_id, action, status):
    owners = {} if now is None else {10: now}
    plan = plan_unbind([ITEM], owners, {10: ledger}, run_id=run_id)
    assert [w.action for w in plan.writes] == ([action] if action else [])
    if status is not None:
        assert [o.status for o in plan.outcomes] == [status]
    if action == "restore":
        assert plan.writes[0].owner == (7, 2)


def test_split_ranges_cuts_at_wide_gaps():
    assert split_ranges([5, 1, 3, 2000, 2001, 900]) == [(1, 5), (900, 900), (2000, 2001)]
    assert split_ranges([]) == []


def test_read_owners_pages_dense_ranges_and_skips_unselected():
    bound = [{"orderId": i, "ownerId": 1000 + i, "ownerTypeId": 2} for i in range(1, 301)]
    orders = [{"id": i, "accountNumber": f"A{i}", "price": 1.0} for i in range(1, 5001)]
    with (
        Sandbox(
            demo=False,
            orders=orders,
            bindings=[*bound, {"orderId": 4000, "ownerId": 9, "ownerTypeId": 31}],
            limits=False,
            latency=False,
        ) as sb,
        Portal(sb.url, progress=False) as portal,
    ):
        wanted = [*range(1, 301, 2), 4000, 4999]
        before = sb.stats.http_requests
        got = read_owners(portal, wanted)
        assert got == {**{i: (1000 + i, 2) for i in range(1, 301, 2)}, 4000: (9, 31)}
        # first pages of both ranges in one request, the other five pages in a second
        assert sb.stats.http_requests - before == 2
