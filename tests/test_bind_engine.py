"""bind()/unbind() against the sandbox portal over HTTP: statuses, guard, dry run, undo."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import b24nb
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox
from b24nb.testing import make_pairs, portal_owners

N_DEALS, N_ORDERS = 300, 320
#: order 5 belongs to deal 250 (auto-created style), order 6 is already bound to deal 6
BINDINGS = [
    {"orderId": 5, "ownerId": 250, "ownerTypeId": 2},
    {"orderId": 6, "ownerId": 6, "ownerTypeId": 2},
    {"orderId": 300, "ownerId": 299, "ownerTypeId": 2},
]


def writes(sb: Sandbox) -> int:
    calls = sb.stats.method_calls  # the sandbox counts methods by their lower-cased name
    return calls.get("crm.orderentity.add", 0) + calls.get("crm.orderentity.deletebyfilter", 0)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    deals = [{"ID": i, "TITLE": f"Deal {i}"} for i in range(1, N_DEALS + 1)]
    orders = [{"id": i, "accountNumber": f"A-{i}", "price": 100.0} for i in range(1, N_ORDERS + 1)]
    with Sandbox(
        demo=False, deals=deals, orders=orders, bindings=BINDINGS, limits=False, latency=False
    ) as box:
        yield box


@pytest.fixture
def portal(sb: Sandbox) -> Iterator[Portal]:
    with Portal(sb.url, progress=False) as p:
        yield p


def test_bind_binds_selected_rows_only_and_logs_each_row(sb, portal, journal_path):
    pairs = make_pairs([(10, 10), (11, 11), (12, 12)], selected=[True, False, True])
    summary = b24nb.bind(portal, pairs, progress=False)
    assert portal_owners(sb, with_type=True)[10] == (10, 2)
    assert portal_owners(sb, with_type=True)[12] == (12, 2)
    assert 11 not in portal_owners(sb, with_type=True)
    assert list(pairs["bind_status"].fillna("-")) == ["bound", "-", "bound"]
    assert pairs.loc[0, "bind_response"] == {
        "dealOrder": {"orderId": 10, "ownerId": 10, "ownerTypeId": 2}
    }
    assert str(pairs["bind_at"].dtype) == "datetime64[ns, UTC]"
    assert pd.notna(pairs.loc[0, "bind_at"])
    assert pd.isna(pairs.loc[1, "bind_at"])
    assert summary["bound"] == 2
    assert summary.run_id is not None
    assert pairs.loc[0, "current_owner_id"] == 10


def test_bind_sends_fifty_per_request(sb, portal, journal_path):
    pairs = make_pairs([(i, i) for i in range(7, 257)])  # 250 unbound orders
    before = sb.stats.http_requests
    summary = b24nb.bind(portal, pairs, progress=False)
    assert summary["bound"] == 250
    # one read of the current owners, five batches of 50 writes, each re-checked by the guard
    # just before it is sent (one request of 50 exact reads)
    assert sb.stats.http_requests - before == 11
    assert summary.http_requests == 11
    assert sb.stats.method_calls["crm.orderentity.add"] == 250


def test_bind_marks_order_bound_to_same_deal_as_already_bound(sb, portal, journal_path):
    pairs = make_pairs([(6, 6)])
    b24nb.bind(portal, pairs, progress=False)
    assert pairs.loc[0, "bind_status"] == "already_bound"
    assert writes(sb) == 0


def test_bind_refuses_silent_rebind_without_allow_rebind(sb, portal, journal_path):
    pairs = make_pairs([(5, 5), (7, 7)])
    b24nb.bind(portal, pairs, progress=False)
    assert pairs.loc[0, "bind_status"] == "needs_rebind"
    assert "deal 250" in pairs.loc[0, "bind_message"]
    assert portal_owners(sb, with_type=True)[5] == (250, 2)
    assert pairs.loc[1, "bind_status"] == "bound"
    # the frame now shows who owns order 5 today
    assert pairs.loc[0, "current_owner_id"] == 250
    assert bool(pairs.loc[0, "rebind"]) is True


def test_bind_with_allow_rebind_moves_order_and_journals_old_owner(sb, portal, journal_path):
    pairs = make_pairs([(5, 5)])
    b24nb.bind(portal, pairs, allow_rebind=True, progress=False)
    assert pairs.loc[0, "bind_status"] == "rebound"
    assert portal_owners(sb, with_type=True)[5] == (5, 2)
    h = b24nb.history()
    send = h[(h.event == "send") & (h.order_id == 5)].iloc[-1]
    assert (send.prev_owner_id, send.prev_owner_type_id) == (250, 2)


def test_dry_run_reports_what_would_be_sent_and_writes_nothing(sb, portal, journal_path):
    before = portal_owners(sb, with_type=True)
    pairs = make_pairs([(5, 5), (6, 6), (8, 8)])
    summary = b24nb.bind(portal, pairs, dry_run=True, progress=False)
    assert list(pairs["bind_status"]) == ["needs_rebind", "already_bound", "dry_run"]
    assert "would bind order 8 to deal 8" in pairs.loc[2, "bind_message"]
    assert writes(sb) == 0
    assert portal_owners(sb, with_type=True) == before
    assert summary.dry_run
    assert summary.run_id is None
    assert b24nb.history().empty


def test_bind_failure_keeps_portal_code_as_string(sb, portal, journal_path):
    pairs = make_pairs([(9, 5000), (9, 9)])  # order 5000 does not exist
    b24nb.bind(portal, pairs, progress=False)
    assert pairs.loc[0, "bind_status"] == "failed"
    assert pairs.loc[0, "bind_error"] == "200540400001"
    assert pairs.loc[0, "bind_message"]
    assert pairs.loc[1, "bind_status"] == "bound"


def test_rerun_skips_done_rows_and_sends_nothing(sb, portal, journal_path):
    pairs = make_pairs([(i, i) for i in range(7, 60)])
    b24nb.bind(portal, pairs, progress=False)
    sent = writes(sb)
    first_at = pairs["bind_at"].copy()
    fresh = make_pairs([(i, i) for i in range(7, 60)])  # e.g. after a kernel restart
    summary = b24nb.bind(portal, fresh, progress=False)
    assert writes(sb) == sent
    assert summary["bound"] == 53
    assert set(fresh["bind_status"]) == {"bound"}
    # bind_at says when the binding was made, not when it was last looked at
    assert (fresh["bind_at"] - first_at).abs().max() < pd.Timedelta(seconds=1)


def test_unbind_restores_replaced_owner_and_removes_new_bindings(sb, portal, journal_path):
    before = portal_owners(sb, with_type=True)
    pairs = make_pairs([(5, 5), (8, 8), (6, 6)])
    b24nb.bind(portal, pairs, allow_rebind=True, progress=False)
    assert portal_owners(sb, with_type=True)[5] == (5, 2)
    summary = b24nb.unbind(portal, pairs, progress=False)
    assert portal_owners(sb, with_type=True) == before
    assert list(pairs["bind_status"]) == ["unbound", "unbound", "skipped"]
    assert pairs.loc[0, "current_owner_id"] == 250
    assert pd.isna(pairs.loc[1, "current_owner_id"])
    assert summary["unbound"] == 2
    # the pre-existing binding of order 6 was not made by b24nb and stays
    assert "not bound by b24nb" in pairs.loc[2, "bind_message"]


def test_unbind_leaves_alone_an_order_changed_since(sb, portal, journal_path):
    pairs = make_pairs([(8, 8)])
    b24nb.bind(portal, pairs, progress=False)
    portal.call("crm.orderentity.add", {"fields": {"orderId": 8, "ownerId": 9, "ownerTypeId": 2}})
    b24nb.unbind(portal, pairs, progress=False)
    assert pairs.loc[0, "bind_status"] == "skipped"
    assert portal_owners(sb, with_type=True)[8] == (9, 2)


def test_unbind_twice_sends_nothing_the_second_time(sb, portal, journal_path):
    pairs = make_pairs([(8, 8)])
    b24nb.bind(portal, pairs, progress=False)
    b24nb.unbind(portal, pairs, progress=False)
    sent = writes(sb)
    b24nb.unbind(portal, pairs, progress=False)
    assert writes(sb) == sent
    assert pairs.loc[0, "bind_status"] == "unbound"


def test_unbind_by_run_id_undoes_only_that_run(sb, portal, journal_path):
    first = make_pairs([(8, 8)])
    run1 = b24nb.bind(portal, first, progress=False).run_id
    second = make_pairs([(9, 9)])
    b24nb.bind(portal, second, progress=False)
    both = make_pairs([(8, 8), (9, 9)])
    b24nb.unbind(portal, both, run_id=run1, progress=False)
    assert list(both["bind_status"]) == ["unbound", "skipped"]
    assert 8 not in portal_owners(sb, with_type=True)
    assert portal_owners(sb, with_type=True)[9] == (9, 2)


def test_on_update_receives_pair_ids_after_each_batch(sb, portal, journal_path):
    calls: list[list[int]] = []
    pairs = make_pairs([(i, i) for i in range(7, 127)])  # 120 rows: 3 batches
    b24nb.bind(portal, pairs, progress=False, on_update=calls.append)
    # first the planned statuses of every row, then one call per batch (batches go several
    # at a time, so they may be answered in any order)
    assert len(calls) == 4
    assert sorted(calls[0]) == list(range(120))
    assert sorted(len(c) for c in calls[1:]) == [20, 50, 50]


def test_bind_with_nothing_selected_sends_nothing(sb, portal, journal_path):
    before = sb.stats.http_requests
    summary = b24nb.bind(portal, make_pairs([(8, 8)], selected=False), progress=False)
    assert sb.stats.http_requests == before
    assert summary.counts == {}


def test_interrupted_bind_marks_rows_and_rerun_completes(sb, portal, journal_path):
    pairs = make_pairs([(i, i) for i in range(7, 157)])  # 150 rows: 3 batches
    seen = []

    def stop_after_first_batch(ids):
        seen.append(ids)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # one batch at a time: the others are not sent
        b24nb.bind(portal, pairs, progress=False, on_update=stop_after_first_batch,
                   in_flight=1)
    counts = pairs["bind_status"].value_counts().to_dict()
    assert counts == {"bound": 50, "skipped": 100}
    assert pairs.loc[pairs.bind_status == "skipped", "bind_error"].eq("KeyboardInterrupt").all()
    b24nb.bind(portal, pairs, progress=False)
    assert set(pairs["bind_status"]) == {"bound"}
    assert sum(1 for o in portal_owners(sb, with_type=True) if 7 <= o < 157) == 150
    assert writes(sb) == 150


def test_bind_summary_repr_and_module_call(sb, portal, journal_path):
    pairs = make_pairs([(8, 8)])
    summary = b24nb.bind(portal, pairs, progress=False)  # b24nb.bind is callable
    assert "1 bound" in repr(summary)
    assert sb.url.split("/")[-2] not in repr(summary)  # no secret
    assert "#user1" in b24nb.history()["portal"].iloc[0]


def test_failing_on_update_callback_does_not_stop_the_run(sb, portal, journal_path, caplog):
    def broken(ids):
        raise RuntimeError("widget bug")

    pairs = make_pairs([(i, i) for i in range(7, 107)])
    summary = b24nb.bind(portal, pairs, progress=False, on_update=broken)
    assert summary["bound"] == 100
    assert "on_update callback failed" in caplog.text


def test_bind_then_unbind_suggested_pairs_keeps_portal_frame_and_journal_in_agreement(
    small_sandbox, journal_path
):
    with Portal(small_sandbox.url, progress=False) as p:
        deals = b24nb.load_deals(p, progress=False)
        orders = b24nb.load_orders(p, progress=False)
        before = b24nb.load_bindings(p, progress=False)
        pairs = b24nb.suggest(deals, orders, bindings=before)
        pairs["selected"] = pairs["selected"] | pairs["rebind"].fillna(False)
        pairs = pairs.drop_duplicates("order_id")  # one pair per order
        b24nb.bind(p, pairs, deals=deals, progress=False)
        sel = pairs[pairs.selected]
        assert set(sel.loc[sel.rebind.fillna(False), "bind_status"]) == {"needs_rebind"}
        b24nb.bind(p, pairs, deals=deals, allow_rebind=True, progress=False)
        sel = pairs[pairs.selected]
        assert set(sel["bind_status"]) <= {"bound", "rebound", "already_bound"}
        assert (sel["bind_status"] == "rebound").any()
        after = b24nb.load_bindings(p, progress=False)
        assert (after.loc[sel.order_id, "owner_id"].to_numpy() == sel.deal_id.to_numpy()).all()
        assert (sel.current_owner_id == sel.deal_id).all()
        b24nb.unbind(p, pairs, progress=False)
        assert b24nb.load_bindings(p, progress=False).equals(before)


def test_writes_counts_removals_too(sb, portal, journal_path):
    pairs = make_pairs([(8, 8)])
    b24nb.bind(portal, pairs, progress=False)
    sent = writes(sb)
    b24nb.unbind(portal, pairs, progress=False)
    assert writes(sb) == sent + 1  # the helper the "sends nothing" claims rely on sees deletes


def test_bind_takes_a_hand_built_frame_of_plain_dtypes(sb, portal, journal_path):
    # what a user writes without suggest(): numpy ints and bools, a default RangeIndex, only
    # the columns bind needs (the shared builder makes contract frames, so this one is inline)
    pairs = pd.DataFrame({"deal_id": [20, 21], "order_id": [20, 21],
                          "owner_type_id": [2, 2], "selected": [True, True]})
    assert str(pairs["deal_id"].dtype) == "int64"
    summary = b24nb.bind(portal, pairs, progress=False)
    assert summary["bound"] == 2
    assert portal_owners(sb, with_type=True)[20] == (20, 2)
    assert portal_owners(sb, with_type=True)[21] == (21, 2)
    assert list(pairs["bind_status"]) == ["bound", "bound"]
