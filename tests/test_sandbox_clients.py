"""Third-party clients prove the protocol: their full-list calls get every deal.

fast_bitrix24 and b24pysdk were written against real portals; if they page through a
20,000-deal sandbox (limits on, latency modelled) and get every deal exactly once, the
sandbox's paging, batch and reference semantics match what real clients expect.
"""

from __future__ import annotations

import sys

import pytest

from b24nb.sandbox import Sandbox

N = 20_000


@pytest.fixture(scope="module")
def big():
    deals = [{"ID": i, "TITLE": f"Deal {i}", "OPPORTUNITY": i} for i in range(1, N + 1)]
    with Sandbox(demo=False, deals=deals, time_scale=20) as sb:
        yield sb


@pytest.mark.slow
def test_fast_bitrix24_get_all_returns_every_deal(big):
    from fast_bitrix24 import Bitrix

    big.stats.reset()
    rows = Bitrix(big.url, verbose=False).get_all("crm.deal.list",
                                                  params={"select": ["ID", "TITLE"]})
    ids = [int(r["ID"]) for r in rows]
    assert len(ids) == N
    assert set(ids) == set(range(1, N + 1))
    assert big.stats.method_calls["crm.deal.list"] == N // 50
    assert big.stats.http_requests < 20  # batched: 50 pages per request


@pytest.mark.slow
def test_b24pysdk_as_list_fast_returns_every_deal(big, monkeypatch):
    from b24pysdk import BitrixWebhook, Client

    # b24pysdk hard-codes https://; point it at the plain-HTTP loopback sandbox.
    caller = sys.modules["b24pysdk.api.callers.call_method"]._MethodCaller
    monkeypatch.setattr(caller, "_base_url",
                        property(lambda self: f"http://{self._domain}/rest"))
    host = big.url.split("//", 1)[1].split("/", 1)[0]
    token = "/".join(big.url.rstrip("/").split("/")[-2:])
    client = Client(BitrixWebhook(domain=host, webhook_token=token))
    big.stats.reset()
    rows = list(client.crm.deal.list(select=["ID", "TITLE"]).as_list_fast().result)
    ids = [int(r["ID"]) for r in rows]
    assert len(ids) == N
    assert set(ids) == set(range(1, N + 1))
    assert big.stats.method_calls["batch"] >= 8  # the $result[...] chained ID walk
