"""Scale: a sandbox of 200,000 deals and 200,000 orders starts and serves exact ``>ID`` pages.

Correctness only: how fast it starts and answers is printed by ``benchmarks/bench_sandbox.py``
(speed is measured in benchmarks, not in timed tests that a busy CI box could fail).
"""

from __future__ import annotations

import pytest

from b24nb.sandbox import Sandbox
from b24nb.testing import call, scale_records

N = 200_000


@pytest.fixture(scope="module")
def huge():
    with Sandbox(demo=False, limits=False, latency=False, **scale_records(N)) as sb:
        yield sb


def _ids(url: str, method: str, params: dict, key: str = "ID") -> list[int]:
    r = call(url, method, params)
    assert r.status_code == 200
    return [int(row[key]) for row in r.json()["result"]]


@pytest.mark.slow
def test_200k_deals_and_orders_load(huge):
    assert huge.counts()["deals"] == N
    assert huge.counts()["orders"] == N


@pytest.mark.slow
def test_id_walk_pages_at_200k_are_the_next_50_ids(huge):
    got = _ids(huge.url, "crm.deal.list", {
        "order": {"ID": "ASC"}, "filter": {">ID": 150_000}, "start": -1,
        "select": ["ID", "TITLE", "OPPORTUNITY", "CURRENCY_ID", "DATE_CREATE"]})
    assert got == list(range(150_001, 150_051))
    assert _ids(huge.url, "crm.deal.list", {"order": {"ID": "ASC"}, "filter": {">ID": 199_990},
                                            "start": -1}) == list(range(199_991, N + 1))
    r = call(huge.url, "sale.order.list", {"order": {"id": "ASC"}, "filter": {">id": 150_000},
                                          "start": -1})
    assert [int(o["id"]) for o in r.json()["result"]["orders"]] == list(range(150_001, 150_051))


@pytest.mark.slow
def test_200k_demo_portal_serves_exact_pages():
    with Sandbox(seed=0, n_deals=N, n_orders=N, limits=False, latency=False) as sb:
        assert _ids(sb.url, "crm.deal.list", {"order": {"ID": "ASC"}, "filter": {">ID": 150_000},
                                              "start": -1}) == list(range(150_001, 150_051))
        counts = sb.counts()
        assert (counts["deals"], counts["orders"]) == (N, N)
        assert len(sb.truth) > 0.35 * N
        r = call(sb.url, "sale.order.list", {"order": {"id": "ASC"},
                                            "filter": {">id": 199_000}, "start": -1})
        assert [int(o["id"]) for o in r.json()["result"]["orders"]] == list(range(199_001,
                                                                                  199_051))
