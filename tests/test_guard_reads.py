"""Owner reads are exact while a colleague changes bindings: keyset walks, never offsets.

The colleague writes through plain HTTP (``b24nb.testing.call``) between two of our requests,
the way another user of the portal would; the reads must still see every binding that
existed from start to end.
"""

from __future__ import annotations

import pandas as pd
import pytest

import b24nb
from b24nb.binding.owners import read_owners, recheck_owners
from b24nb.errors import ListIncompleteError, PortalError
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox
from b24nb.testing import call


def sandbox(n_orders: int, bound: range) -> Sandbox:
    orders = [{"id": i, "accountNumber": f"A{i}", "price": 1.0} for i in range(1, n_orders + 1)]
    deals = [{"ID": i, "TITLE": f"d{i}"} for i in range(1, 10_001)]
    bindings = [{"orderId": i, "ownerId": 5000 + i % 4000, "ownerTypeId": 2} for i in bound]
    return Sandbox(demo=False, orders=orders, deals=deals, bindings=bindings, limits=False,
                   latency=False)


def before_request(portal: Portal, n: int, action) -> list[dict]:
    """Let the colleague act just before our ``n``-th batch request (1-based); log them all."""
    log: list[dict] = []
    send = portal.batch

    def spy(cmds, *, halt=False):
        log.append(dict(cmds))
        return (action(), send(cmds, halt=halt))[1] if len(log) == n else send(cmds, halt=halt)

    portal.batch = spy  # type: ignore[method-assign]
    return log


def unbind_by_hand(sb: Sandbox, order: int) -> None:
    owner = next(b for b in sb.bindings() if b["orderId"] == order)
    r = call(sb.url, "crm.orderentity.deleteByFilter", {"fields": owner})
    assert r.json()["result"] is True


def bind_by_hand(sb: Sandbox, order: int, owner: int) -> None:
    r = call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": order, "ownerId": owner, "ownerTypeId": 2}})
    assert "dealOrder" in r.json()["result"]


def test_a_colleague_deleting_a_binding_mid_read_hides_no_other_owner():
    """Offsets would shift: order 51 slid to page one and was never seen, so it looked unbound."""
    with sandbox(200, range(1, 151)) as sb, Portal(sb.url, progress=False) as portal:
        truth = {b["orderId"]: (b["ownerId"], 2) for b in sb.bindings()}
        sent = before_request(portal, 2, lambda: unbind_by_hand(sb, 1))
        got = read_owners(portal, range(1, 201))
        assert len(sent) == 2  # the first page, then the rest chained in one request
        del truth[1]  # read in the first request, deleted after it
        assert {o: got[o] for o in truth} == truth  # everything that stayed bound was seen
        assert 51 in got  # the row an offset read slides across the page boundary
        # the keyset pages: start=-1, >orderId cursor, chained by $result references
        _, params = next(iter(sent[1].values()))
        assert params["start"] == -1
        assert params["order"] == {"orderId": "ASC"}
        chained = [p["filter"][">orderId"] for _, p in sent[1].values()]
        assert chained[0] == 50
        assert str(chained[1]).startswith("$result[")


def test_a_bind_run_never_moves_an_order_a_mid_read_delete_would_have_hidden(journal_path):
    with sandbox(200, range(1, 151)) as sb, Portal(sb.url, progress=False) as portal:
        before = {b["orderId"]: b["ownerId"] for b in sb.bindings()}
        pairs = pd.DataFrame({"deal_id": pd.array(range(1, 151), dtype="Int64"),
                              "order_id": pd.array(range(1, 151), dtype="Int64"),
                              "owner_type_id": pd.array([2] * 150, dtype="Int64"),
                              "selected": pd.array([True] * 150, dtype="boolean")},
                             index=pd.Index(range(150), name="pair_id"))
        before_request(portal, 2, lambda: unbind_by_hand(sb, 1))
        b24nb.bind(portal, pairs, progress=False)
        after = {b["orderId"]: b["ownerId"] for b in sb.bindings()}
        # no order bound elsewhere was moved (order 1, unbound by the colleague, was free)
        assert {o: after[o] for o in range(2, 151)} == {o: before[o] for o in range(2, 151)}
        assert (pairs["bind_status"] == "needs_rebind").all()  # order 1 was read bound
        assert 1 not in after  # and the colleague's unbinding stands


def test_load_bindings_under_a_delete_plus_insert_keeps_every_lasting_binding():
    """A delete and an insert keep ``total`` unchanged: offsets missed a row with no error."""
    with sandbox(6000, range(1, 5001)) as sb, Portal(sb.url, progress=False,
                                                     max_workers=2) as portal:
        lasting = {b["orderId"] for b in sb.bindings()} - {7}

        def colleague():
            unbind_by_hand(sb, 7)
            bind_by_hand(sb, 5500, 3)

        sent = before_request(portal, 2, colleague)
        frame = b24nb.load_bindings(portal, progress=False)
        assert lasting <= set(frame.index)  # order 7 was read in the probe, before the delete
        assert frame.index.is_unique
        assert all(p.get("start") in (-1, 0) for cmds in sent for _, p in cmds.values())
        assert any(p.get("start") == -1 and str(p["filter"].get(">orderId", "")).startswith(
            "$result[") for cmds in sent for _, p in cmds.values())


def test_recheck_reads_each_order_of_a_batch_in_one_request():
    with sandbox(10_000, range(1, 10_001, 3)) as sb, Portal(sb.url, progress=False) as portal:
        wanted = list(range(1, 10_001, 200))  # 50 orders far apart: 50 ranges' worth of rows
        sb.stats.reset()
        got = recheck_owners(portal, wanted)
        assert sb.stats.http_requests == 1
        truth = {b["orderId"]: (b["ownerId"], 2) for b in sb.bindings()}
        assert got == {o: truth[o] for o in wanted if o in truth}


def test_an_answer_out_of_keyset_order_raises_instead_of_passing_for_unbound():
    with sandbox(300, range(1, 121)) as sb, Portal(sb.url, progress=False) as portal:
        real = portal.batch

        def batch(cmds, *, halt=False):
            out = real(cmds, halt=halt)
            for res in out.values():  # a server that ignored the order: rows come reversed
                if res.ok and res.result["orderEntity"]:
                    res.result["orderEntity"].reverse()
            return out

        portal.batch = batch  # type: ignore[method-assign]
        with pytest.raises(PortalError) as exc:
            read_owners(portal, range(1, 121))
        assert exc.value.code == "LIST_NOT_EXACT"


def test_a_read_that_keeps_failing_raises_and_load_bindings_too():
    with sandbox(300, range(1, 121)) as sb, Portal(sb.url, progress=False) as portal:
        sb.faults.add(method="crm.orderentity.list", kind="429", p=1.0)
        portal.limiter.budget.block = lambda m: None  # type: ignore[method-assign]
        import b24nb.limits as limits

        real = limits.retry_delay
        limits.retry_delay = lambda e, a, jitter=0.5: None  # type: ignore[assignment]
        try:
            with pytest.raises(PortalError):
                read_owners(portal, range(1, 121))
            with pytest.raises(ListIncompleteError):
                b24nb.load_bindings(portal, progress=False)
        finally:
            limits.retry_delay = real


def test_the_sandbox_answers_orderentity_keyset_pages_like_the_server():
    with sandbox(300, range(1, 121)) as sb:
        def page(params):
            return call(sb.url, "crm.orderentity.list", params).json()

        cheap = page({"start": -1, "order": {"orderId": "ASC"}, "filter": {">orderId": "12abc"}})
        assert "total" not in cheap
        assert "next" not in cheap
        ids = [r["orderId"] for r in cheap["result"]["orderEntity"]]
        assert ids == list(range(13, 63))  # ">orderId" cast with (int): "12abc" is 12
        desc = page({"start": -1, "order": {"orderId": "DESC"}})
        assert desc["result"]["orderEntity"][0]["orderId"] == 120
        counted = page({"start": 0, "order": {"orderId": "ASC"}})
        assert counted["total"] == 120
        assert counted["next"] == 50
        broken_in = page({"filter": {"@orderId": [5, 6]}})  # (int)array = 1
        assert [r["orderId"] for r in broken_in["result"]["orderEntity"]] == [1]
