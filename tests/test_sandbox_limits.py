"""Limits over real HTTP: leaky bucket (503), operating time (429), latency, time_scale."""

from __future__ import annotations

import time

import requests

from b24nb.sandbox import Latency
from b24nb.testing import call, tiny_sandbox

SLOW_LIST = Latency(call=0.0, page=0.6, per_offset_row=0.0, count=0.0, per_counted_row=0.0,
                    get=0.0, add=0.0)


def test_bucket_refuses_after_burst_of_50_with_503():
    with tiny_sandbox(limits=True) as sb:
        s = requests.Session()
        codes = [call(sb.url, "profile", session=s).status_code for _ in range(60)]
        assert codes[:50] == [200] * 50
        refused = [c for c in codes if c == 503]
        assert len(refused) >= 5
        r = call(sb.url, "profile", session=s)
        assert r.status_code == 503
        assert r.json() == {"error": "QUERY_LIMIT_EXCEEDED",
                            "error_description": "Too many requests"}
        assert sb.stats.refused_503 == len(refused) + 1
        assert sb.stats.method_calls["profile"] == codes.count(200)


def test_bucket_drains_two_per_second_on_the_virtual_clock():
    with tiny_sandbox(limits=True, time_scale=10) as sb:
        s = requests.Session()
        while call(sb.url, "profile", session=s).status_code == 200:
            pass
        time.sleep(0.5)  # 5 virtual seconds → about 10 requests drained
        codes = [call(sb.url, "profile", session=s).status_code for _ in range(8)]
        assert codes == [200] * 8


def test_enterprise_plan_allows_a_burst_of_250():
    with tiny_sandbox(limits=True, plan="enterprise") as sb:
        s = requests.Session()
        codes = [call(sb.url, "profile", session=s).status_code for _ in range(255)]
        assert codes[:250] == [200] * 250
        assert 503 in codes[250:]


def test_batch_counts_as_one_request_against_the_bucket():
    with tiny_sandbox(limits=True) as sb:
        s = requests.Session()
        cmd = {f"c{i}": f"crm.deal.get?id={i + 1}" for i in range(50)}
        for _ in range(40):
            assert call(sb.url, "batch", {"cmd": cmd}, session=s).status_code == 200
        assert sb.stats.http_requests == 40
        assert sb.stats.method_calls["crm.deal.get"] == 2000


def test_operating_time_blocks_the_method_with_429_after_the_limit():
    with tiny_sandbox(limits=True, latency=SLOW_LIST, operating_limit=1.0,
                      time_scale=100) as sb:
        s = requests.Session()
        first = call(sb.url, "crm.deal.list", session=s).json()
        assert first["time"]["operating"] >= 0.6
        assert first["time"]["operating_reset_at"] >= int(first["time"]["start"] + 599)
        second = call(sb.url, "crm.deal.list", session=s)  # 0.6 ≤ 1.0: still runs
        assert second.status_code == 200
        assert second.json()["time"]["operating"] >= 1.2
        third = call(sb.url, "crm.deal.list", session=s)
        assert third.status_code == 429
        assert third.json() == {"error": "OPERATION_TIME_LIMIT",
                                "error_description": "Method is blocked due to operation time "
                                                     "limit."}
        # other methods keep working
        assert call(sb.url, "crm.deal.get", {"id": 1}, session=s).status_code == 200
        assert sb.stats.refused_429 == 1


def test_operating_block_shows_per_command_inside_batch():
    with tiny_sandbox(limits=True, latency=SLOW_LIST, operating_limit=1.0,
                      time_scale=100) as sb:
        cmd = {f"p{i}": f"crm.deal.list?start={50 * i}" for i in range(3)}
        cmd["g"] = "crm.deal.get?id=1"
        body = call(sb.url, "batch", {"cmd": cmd}).json()
        res = body["result"]
        assert set(res["result"]) == {"p0", "p1", "g"}
        assert res["result_error"]["p2"]["error"] == "OPERATION_TIME_LIMIT"
        assert body["time"]["operating"] == 0  # batch itself is not counted


def test_operating_window_resets_after_ten_virtual_minutes():
    with tiny_sandbox(limits=True, latency=SLOW_LIST, operating_limit=0.5,
                      time_scale=1000) as sb:
        s = requests.Session()
        call(sb.url, "crm.deal.list", session=s)
        assert call(sb.url, "crm.deal.list", session=s).status_code == 429
        time.sleep(0.65)  # 650 virtual seconds
        assert call(sb.url, "crm.deal.list", session=s).status_code == 200


def test_calls_under_a_tenth_of_a_second_are_not_recorded():
    with tiny_sandbox(limits=True, latency=True) as sb:
        body = call(sb.url, "crm.deal.list").json()
        assert 0.03 <= body["time"]["processing"] < 0.1
        assert body["time"]["operating"] == 0
        assert "operating_reset_at" not in body["time"]


def test_latency_is_served_in_scaled_real_time():
    with tiny_sandbox(latency=Latency(page=1.0), time_scale=10) as sb:
        t0 = time.perf_counter()
        body = call(sb.url, "crm.deal.list", {"start": -1}).json()
        elapsed = time.perf_counter() - t0
        assert body["time"]["processing"] >= 1.0
        assert 0.09 <= elapsed < 0.6


def test_deep_offsets_and_counts_cost_more_than_the_id_walk():
    with tiny_sandbox(latency=Latency(per_offset_row=1e-3, per_counted_row=1e-3),
                      time_scale=1000) as sb:
        deep = call(sb.url, "crm.deal.list", {"start": 100}).json()["time"]["processing"]
        fast = call(sb.url, "crm.deal.list", {"start": -1, "filter": {">ID": 100}}).json()
        assert deep > fast["time"]["processing"] + 0.2


def test_limits_off_never_refuses():
    with tiny_sandbox(limits=False) as sb:
        s = requests.Session()
        assert all(call(sb.url, "profile", session=s).status_code == 200 for _ in range(80))
        assert sb.stats.refused_503 == 0


def test_clock_runs_time_scale_faster():
    with tiny_sandbox(time_scale=50) as sb:
        a = sb.clock()
        time.sleep(0.1)
        assert 4.0 < sb.clock() - a < 8.0


def test_settings_can_change_on_a_running_sandbox():
    with tiny_sandbox(limits=False) as sb:
        assert (sb.limits, sb.plan, sb.operating_limit) == (False, "standard", 480.0)
        sb.limits = True
        sb.plan = "enterprise"
        s = requests.Session()
        codes = [call(sb.url, "profile", session=s).status_code for _ in range(60)]
        assert codes == [200] * 60  # enterprise burst is 250
        sb.latency = Latency(page=0.5)
        assert call(sb.url, "crm.deal.list").json()["time"]["processing"] >= 0.5
