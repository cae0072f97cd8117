"""SharedProbe: several ID walks started together send their first requests as one."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import b24nb
from b24nb.listing import SharedProbe
from b24nb.sandbox import Sandbox

LISTS = {
    "crm.deal.list": {"select": ["ID", "TITLE"]},
    "sale.order.list": {"select": ["id", "price"]},
    "sale.propertyvalue.list": {"select": ["id", "orderId", "value"]},
}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=2, n_deals=3000, n_orders=1500, limits=False, latency=False) as s:
        yield s


def _alone(portal) -> dict[str, list[dict]]:
    return {m: list(portal.list(m, p, progress=False, spare=0)) for m, p in LISTS.items()}


def _together(portal, probe: SharedProbe, methods: list[str], spare: int = 0
              ) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}

    def one(method: str) -> None:
        out[method] = list(portal.list(method, LISTS[method], progress=False, spare=spare,
                                       shared=probe))

    threads = [threading.Thread(target=one, args=(m,)) for m in methods]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_three_walks_share_one_first_request_and_return_the_same_rows(sb):
    portal = b24nb.connect(sb.url, progress=False)
    sb.stats.reset()
    alone = _alone(portal)
    separately = sb.stats.http_requests
    sb.stats.reset()
    probe = SharedProbe(portal, members=3, wait=5.0)  # generous: this is not the timeout test
    together = _together(portal, probe, list(LISTS))
    assert probe.requests == 1
    assert sb.stats.http_requests == separately - 2  # three probes in one request
    for method, rows in alone.items():
        assert together[method] == rows, method  # same rows, same order


def test_a_member_that_never_comes_holds_the_others_up_only_for_the_wait(sb):
    portal = b24nb.connect(sb.url, progress=False)
    alone = _alone(portal)
    two = ["crm.deal.list", "sale.order.list"]
    sb.stats.reset()
    for method in two:
        list(portal.list(method, LISTS[method], progress=False, spare=0))
    two_alone = sb.stats.http_requests
    sb.stats.reset()
    probe = SharedProbe(portal, members=3, wait=0.2)
    # they ask for spares, which the incomplete group never saved
    out = _together(portal, probe, two, spare=5)
    assert probe.requests == 1  # the two that came went out together after the wait
    assert out["crm.deal.list"] == alone["crm.deal.list"]
    assert out["sale.order.list"] == alone["sale.order.list"]
    assert sb.stats.http_requests == two_alone - 1  # one probe saved, no spare spent
    # a late member (the group already sent) probes alone and still gets all its rows
    method = "sale.propertyvalue.list"
    sb.stats.reset()
    list(portal.list(method, LISTS[method], progress=False, spare=0))
    one_alone = sb.stats.http_requests
    sb.stats.reset()
    late = list(portal.list(method, LISTS[method], progress=False, spare=5, shared=probe))
    assert late == alone[method]
    assert sb.stats.http_requests == one_alone  # as alone: no spare from a group it missed
    assert probe.requests == 1


def test_a_refused_method_fails_only_its_own_list(sb):
    portal = b24nb.connect(sb.url, progress=False)
    alone = _alone(portal)
    sb.refuse("sale.propertyvalue.list")
    try:
        probe = SharedProbe(portal, members=2, wait=5.0)
        errors: list[BaseException] = []
        out: dict[str, list[dict]] = {}

        def one(method: str) -> None:
            try:
                out[method] = list(portal.list(method, LISTS[method], progress=False,
                                               spare=0, shared=probe))
            except b24nb.errors.ListIncompleteError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(m,))
                   for m in ("sale.order.list", "sale.propertyvalue.list")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sb.refuse("sale.propertyvalue.list", None)
    assert probe.requests == 1  # the refused method's commands rode in the shared request
    assert out["sale.order.list"] == alone["sale.order.list"]
    assert len(errors) == 1
    assert isinstance(errors[0].error, b24nb.errors.MethodNotFoundError)
