"""The guard holds during the run: a colleague's write mid-run is never overwritten.

The colleague binds through plain HTTP (``b24nb.testing.call``) after one of our batches;
the next batch's re-read sees it and holds the order back. Frame, journal and portal agree.
"""

from __future__ import annotations

import b24nb
from b24nb.journal import Journal
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox
from b24nb.testing import binding_disagreements, call, make_pairs, portal_owners


def sandbox(bindings=()) -> Sandbox:
    orders = [{"id": i, "accountNumber": f"A{i}", "price": 1.0} for i in range(1, 401)]
    deals = [{"ID": i, "TITLE": f"d{i}"} for i in range(1, 1001)]
    return Sandbox(demo=False, orders=orders, deals=deals, bindings=list(bindings),
                   limits=False, latency=False)


def colleague_binds(sb: Sandbox, order: int, owner: int) -> None:
    r = call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": order, "ownerId": owner, "ownerTypeId": 2}})
    assert r.status_code == 200


def after_batch(n: int, action):
    seen = []

    def on_update(ids):
        seen.append(ids)
        if len(seen) == n:
            action()
    return on_update


def test_orders_a_colleague_binds_mid_run_are_held_back_not_moved(journal_path):
    # one batch at a time: the test scripts what happens between batches
    with sandbox() as sb, Portal(sb.url, progress=False) as portal, \
            Journal(journal_path) as journal:
        pairs = make_pairs(range(1, 201))
        # after the first batch of 50, the colleague binds two orders of later batches
        grab = after_batch(2, lambda: [colleague_binds(sb, 120, 900),
                                       colleague_binds(sb, 180, 901)])
        summary = b24nb.bind(portal, pairs, journal=journal, progress=False,
                             in_flight=1, on_update=grab)
        owners = portal_owners(sb)
        assert owners[120] == 900
        assert owners[180] == 901
        assert summary["needs_rebind"] == 2
        assert summary["bound"] == 198
        row = pairs.loc[pairs.order_id == 120].iloc[0]
        assert row["bind_status"] == "needs_rebind"
        assert "deal 900 now" in row["bind_message"]
        assert row["current_owner_id"] == 900  # the new owner is shown
        assert binding_disagreements(sb, pairs, journal) == []
        assert sb.stats.method_calls["crm.orderentity.add"] == 198 + 2  # ours + colleague's


def test_with_allow_rebind_a_move_is_still_held_when_the_owner_changed_again(journal_path):
    with sandbox([{"orderId": o, "ownerId": 500 + o, "ownerTypeId": 2}
                  for o in range(1, 101)]) as sb, \
            Portal(sb.url, progress=False) as portal, Journal(journal_path) as journal:
        pairs = make_pairs(range(1, 101))
        grab = after_batch(1, lambda: colleague_binds(sb, 77, 42))  # (before batch 2)
        # on_update's first call is the plan written into the frame, before any batch
        summary = b24nb.bind(portal, pairs, journal=journal, progress=False,
                             allow_rebind=True, on_update=grab)
        owners = portal_owners(sb)
        assert owners[77] == 42
        assert summary["rebound"] == 99
        assert summary["needs_rebind"] == 1
        msg = pairs.loc[pairs.order_id == 77, "bind_message"].iloc[0]
        assert "deal 577 then, deal 42 now" in msg
        assert binding_disagreements(sb, pairs, journal) == []
        # undo gives every other order back to its old owner, and leaves 77 with deal 42
        b24nb.unbind(portal, pairs, journal=journal, progress=False)
        owners = portal_owners(sb)
        assert owners == {o: (42 if o == 77 else 500 + o) for o in range(1, 101)}


def test_an_undo_leaves_alone_an_order_a_colleague_moved_mid_undo(journal_path):
    with sandbox() as sb, Portal(sb.url, progress=False) as portal, \
            Journal(journal_path) as journal:
        pairs = make_pairs(range(1, 101))
        b24nb.bind(portal, pairs, journal=journal, progress=False)
        grab = after_batch(1, lambda: colleague_binds(sb, 90, 7))
        summary = b24nb.unbind(portal, pairs, journal=journal, progress=False, on_update=grab)
        assert portal_owners(sb) == {90: 7}
        assert summary["unbound"] == 99
        assert summary["skipped"] == 1
        assert binding_disagreements(sb, pairs, journal) == []
