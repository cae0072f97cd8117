"""Sandbox crm.ordercontactcompany.list (shape, paging, refusals) and parallel serving."""

from __future__ import annotations

import threading
import time

import pytest

import b24nb
from b24nb.errors import AccessDeniedError, MethodNotFoundError
from b24nb.sandbox import Latency, Sandbox

ORDERS = [{"id": i, "accountNumber": str(i), "price": 1.0, "currency": "RUB",
           "clients": [{"entityTypeId": 3, "entityId": 1000 + i},
                       {"entityTypeId": 4, "entityId": 5000 + i, "isPrimary": "Y"}]}
          for i in range(1, 61)]


@pytest.fixture(scope="module")
def sb():
    with Sandbox(orders=ORDERS, demo=False, limits=False, latency=False) as sb:
        yield sb


def test_links_answer_camel_case_under_clients_with_paging(sb):
    portal = b24nb.connect(sb.url, progress=False)
    first = portal.call_full("crm.ordercontactcompany.list", {})
    rows = first.result["clients"]
    assert len(rows) == 50
    assert (first.total, first.next) == (120, 50)
    assert set(rows[0]) == {"id", "orderId", "entityId", "entityTypeId", "sort", "roleId",
                            "isPrimary"}
    assert isinstance(rows[0]["orderId"], int)
    assert rows[0]["isPrimary"] in ("Y", "N")
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    nocount = portal.call_full("crm.ordercontactcompany.list",
                               {"start": -1, "filter": {">id": 100}})
    assert (nocount.total, nocount.next) == (None, None)
    assert [r["id"] for r in nocount.result["clients"]] == list(range(101, 121))
    some = portal.call("crm.ordercontactcompany.list",
                       {"filter": {"orderId": 7}, "select": ["orderId", "entityId"]})
    assert sorted(r["entityId"] for r in some["clients"]) == [1007, 5007]


def test_links_walk_by_id_returns_every_link_once(sb):
    portal = b24nb.connect(sb.url, progress=False)
    rows = list(portal.list("crm.ordercontactcompany.list", {}))
    assert sorted(r["id"] for r in rows) == list(range(1, 121))


@pytest.mark.parametrize(("code", "error"), [("ERROR_METHOD_NOT_FOUND", MethodNotFoundError),
                                             ("ACCESS_DENIED", AccessDeniedError)])
def test_refused_method_answers_like_a_portal_without_it(code, error):
    with Sandbox(orders=ORDERS[:2], demo=False, limits=False, latency=False) as box:
        portal = b24nb.connect(box.url, progress=False)
        box.refuse("crm.ordercontactcompany.list", code)
        with pytest.raises(error):
            portal.call("crm.ordercontactcompany.list", {})
        res = portal.batch({"a": ("crm.ordercontactcompany.list", {})})
        assert isinstance(res["a"].error, error)
        box.refuse("crm.ordercontactcompany.list", None)
        assert len(portal.call("crm.ordercontactcompany.list", {})["clients"]) == 4


def test_order_get_costs_operating_time():
    with Sandbox(orders=ORDERS[:2], demo=False, limits=False, time_scale=10) as box:
        portal = b24nb.connect(box.url, progress=False)
        t = portal.call_full("sale.order.get", {"id": 1}).time
        assert t["processing"] >= 0.1
        assert t["operating"] >= 0.1  # counted against the per-method budget


def test_concurrent_requests_overlap_their_server_time():
    # 8 batches of 10 pages at 0.1 s each: 1 s of server time apiece. A server that runs
    # them one at a time needs 8 s; one whose workers overlap, about 1 s.
    slow = Latency(call=0.0, page=0.1, per_offset_row=0.0, count=0.0, per_counted_row=0.0)
    with Sandbox(orders=ORDERS, demo=False, limits=False, latency=slow) as box:
        portal = b24nb.connect(box.url, progress=False)
        cmds = {f"p{i}": ("sale.order.list", {"start": -1}) for i in range(10)}
        done: list[float] = []

        def one() -> None:
            portal.batch(cmds)
            done.append(time.perf_counter())

        start = time.perf_counter()
        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
    assert len(done) == 8
    assert wall < 6.0, f"8 concurrent 1-second batches took {wall:.1f} s (serial: 8 s)"
