"""The limiter against the sandbox's real limits (clocks scaled so the test takes seconds)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from b24nb.sandbox import Sandbox
from b24nb.sandbox.api import Latency
from b24nb.testing import scaled_portal


def test_bucket_paces_threads_so_the_portal_never_refuses():
    scale = 20.0  # the margin at 20x: 1 + 0.05 s x 20 x 2/s = 3 requests = 75 ms of jitter
    with Sandbox(seed=1, n_deals=100, n_orders=10, limits=True, latency=False,
                 time_scale=scale) as sb:
        portal = scaled_portal(sb)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: portal.call("profile"), range(120)))
        elapsed = time.perf_counter() - t0
        assert len(results) == 120
        assert sb.stats.refused_503 == 0
        # past the burst, 2 requests per virtual second: (120 - 48) / 2 s, scaled
        assert elapsed >= (120 - 50) / 2.0 / scale * 0.9
        assert portal.stats.waited_seconds > 0


@pytest.mark.slow
def test_list_waits_out_429_and_completes_when_the_operating_budget_runs_out(capsys):
    # heavy pages (0.15 s each, counted as operating time) against a 10 s budget per 10
    # virtual minutes: 6,000 deals cost 18 s, so the walk must sit out at least one reset;
    # at time_scale=100 the window is 6 real seconds
    with Sandbox(seed=2, n_deals=6000, n_orders=10, limits=True, latency=Latency(page=0.15),
                 operating_limit=10.0, time_scale=100.0) as sb:
        portal = scaled_portal(sb, max_workers=2)  # the client is not told the portal's limit
        got = [int(r["ID"]) for r in portal.list("crm.deal.list", {"select": ["ID"]},
                                                 progress=True)]
        assert got == list(range(1, 6001))
        bar = capsys.readouterr().err
        assert "waiting" in bar  # the progress bar said why it stood still
        assert "operating-time limit" in bar
        assert sb.stats.refused_429 > 0  # the portal did refuse …
        assert portal.stats.waited_seconds > 0  # … and the client waited for the reset


def test_operating_gauge_is_read_from_nested_batch_commands():
    # pages of 0.15 s: the portal records only calls over 0.1 s
    with Sandbox(seed=2, n_deals=3000, n_orders=10, limits=True, latency=Latency(page=0.15),
                 time_scale=100.0) as sb:
        portal = scaled_portal(sb)
        rows = list(portal.list("crm.deal.list", {"select": ["ID"]}))
        assert len(rows) == 3000
        # crm.deal.list ran only inside batches; its gauge still moved
        assert portal.limiter.budget.operating("crm.deal.list") > 0
        assert portal.limiter.budget.operating("batch") == 0
