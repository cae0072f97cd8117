"""The sandbox's cost model for writes: an add costs what the seed says, against the budget."""

from __future__ import annotations

import time

import pytest
import requests

from b24nb.testing import call, tiny_sandbox


def _add(order: int, owner: int) -> str:
    fields = f"fields[orderId]={order}&fields[ownerId]={owner}&fields[ownerTypeId]=2"
    return "crm.orderentity.add?" + fields


def test_an_add_costs_a_third_of_a_second_and_counts_against_the_operating_budget():
    with tiny_sandbox(limits=True, latency=True, time_scale=100) as sb:
        body = call(sb.url, "crm.orderentity.add",
                    {"fields": {"orderId": 20, "ownerId": 20, "ownerTypeId": 2}}).json()
        assert body["time"]["processing"] == pytest.approx(0.3278, abs=0.02)
        assert body["time"]["operating"] == pytest.approx(0.3278, abs=0.02)
        assert body["time"]["operating_reset_at"] >= body["time"]["start"] + 599
        gone = call(sb.url, "crm.orderentity.deleteByFilter",
                    {"fields": {"orderId": 20, "ownerId": 20, "ownerTypeId": 2}}).json()
        assert gone["time"]["processing"] == pytest.approx(0.3278, abs=0.02)
        assert gone["time"]["operating"] == pytest.approx(0.3278, abs=0.02)  # its own method


def test_a_batch_of_adds_reports_each_commands_operating_and_is_not_counted_itself():
    with tiny_sandbox(limits=True, latency=True, time_scale=100) as sb:
        cmd = {f"a{i}": _add(20 + i, 20 + i) for i in range(10)}
        t0 = time.perf_counter()
        body = call(sb.url, "batch", {"cmd": cmd}).json()
        wall = time.perf_counter() - t0
        times = body["result"]["result_time"]
        ops = [times[f"a{i}"]["operating"] for i in range(10)]
        assert ops == sorted(ops)  # a running total, command after command
        assert ops[-1] == pytest.approx(10 * 0.3278, abs=0.2)
        assert all("operating_reset_at" in t for t in times.values())
        assert body["time"]["operating"] == 0  # batch itself is not counted
        assert body["time"]["processing"] == pytest.approx(3.278, abs=0.2)
        assert wall >= 3.278 / 100 * 0.9  # served in scaled real time


def test_the_budget_frees_at_the_reset_time_the_answers_report():
    with tiny_sandbox(limits=True, latency=True, time_scale=1000, operating_limit=1.0) as sb:
        s = requests.Session()
        last = None
        for i in range(4):  # 4 × 0.33 s crosses 1 s: the fourth still runs, the next is refused
            last = call(sb.url, "crm.orderentity.add", {"fields": {
                "orderId": 20 + i, "ownerId": 30 + i, "ownerTypeId": 2}}, session=s)
            assert last.status_code == 200
        refused = call(sb.url, "crm.orderentity.add",
                       {"fields": {"orderId": 30, "ownerId": 40, "ownerTypeId": 2}}, session=s)
        assert refused.status_code == 429
        reset = last.json()["time"]["operating_reset_at"]
        while sb.clock() < reset:
            time.sleep(0.01)
        again = call(sb.url, "crm.orderentity.add",
                     {"fields": {"orderId": 30, "ownerId": 40, "ownerTypeId": 2}}, session=s)
        assert again.status_code == 200
