"""Faults on demand and OAuth tokens, over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from b24nb.testing import call, tiny_sandbox


@pytest.fixture
def sb():
    with tiny_sandbox() as portal:
        yield portal


def _pattern(seed: int) -> list[int]:
    with tiny_sandbox() as portal:
        portal.faults.add(method="crm.deal.get", kind="503", p=0.3, seed=seed)
        return [call(portal.url, "crm.deal.get", {"id": 1}).status_code for _ in range(30)]


def test_fault_503_hits_only_the_matching_method(sb):
    sb.faults.add(method="crm.deal.*", kind="503", p=1.0)
    r = call(sb.url, "crm.deal.list")
    assert r.status_code == 503
    assert r.json()["error"] == "QUERY_LIMIT_EXCEEDED"
    assert call(sb.url, "sale.order.list").status_code == 200
    assert sb.stats.refused_503 == 1


def test_fault_500_answers_an_html_page(sb):
    sb.faults.add(kind="500", p=1.0)
    r = call(sb.url, "profile")
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text.startswith("<!DOCTYPE html>")
    with pytest.raises(requests.JSONDecodeError):  # not JSON: a client must cope
        r.json()


def test_fault_reset_drops_the_connection(sb):
    sb.faults.add(method="crm.deal.list", kind="reset", p=1.0, times=1)
    with pytest.raises(requests.ConnectionError):
        call(sb.url, "crm.deal.list")
    assert call(sb.url, "crm.deal.list").status_code == 200  # times=1: only once


def test_fault_slow_delays_the_answer_on_the_virtual_clock():
    with tiny_sandbox(time_scale=10) as sb:
        sb.faults.add(kind="slow", p=1.0, delay=3.0)
        t0 = time.perf_counter()
        assert call(sb.url, "profile").status_code == 200
        assert 0.28 <= time.perf_counter() - t0 < 1.5


def test_fault_matches_a_batch_by_its_commands(sb):
    sb.faults.add(method="sale.order.list", kind="503", p=1.0)
    r = call(sb.url, "batch", {"cmd": {"a": "sale.order.list"}})
    assert r.status_code == 503


def test_fault_429_refuses_one_command_inside_a_batch(sb):
    sb.faults.add(method="crm.deal.list", kind="429", p=1.0, times=1)
    cmd = {f"p{i}": f"crm.deal.list?start={50 * i}" for i in range(3)}
    body = call(sb.url, "batch", {"cmd": cmd, "halt": 0}).json()["result"]
    assert body["result_error"]["p0"]["error"] == "OPERATION_TIME_LIMIT"
    assert set(body["result"]) == {"p1", "p2"}
    assert sb.stats.refused_429 == 1


def test_faults_are_reproducible_with_a_seed():
    a, b, c = _pattern(7), _pattern(7), _pattern(8)
    assert a == b
    assert 503 in a
    assert 200 in a
    assert a != c


def test_faults_clear_removes_every_rule(sb):
    sb.faults.add(kind="503", p=1.0)
    sb.faults.clear()
    assert call(sb.url, "profile").status_code == 200


def test_unknown_fault_kind_is_rejected(sb):
    with pytest.raises(ValueError, match="unknown fault kind"):
        sb.faults.add(kind="teapot")


# ---------------------------------------------------------------- OAuth


def _rest(sb) -> str:
    return sb.url.split("/rest/")[0] + "/rest/"


def test_oauth_token_works_as_auth_param_bearer_and_access_token(sb):
    tokens = sb.issue_tokens()
    assert tokens["client_endpoint"] == _rest(sb)
    assert tokens["expires_in"] == 3600
    rest = tokens["client_endpoint"]
    assert call(rest, "profile", {"auth": tokens["access_token"]}).status_code == 200
    assert call(rest, "profile", {"access_token": tokens["access_token"]}).status_code == 200
    r = requests.post(rest + "profile.json", json={}, timeout=10,
                      headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert r.status_code == 200


def test_oauth_unknown_token_is_invalid_token(sb):
    r = call(_rest(sb), "profile", {"auth": "nope"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"


def test_oauth_access_token_expires_on_the_virtual_clock():
    with tiny_sandbox(time_scale=100) as sb:
        tokens = sb.issue_tokens(expires_in=2)
        time.sleep(0.05)  # 5 virtual seconds
        r = call(_rest(sb), "profile", {"auth": tokens["access_token"]})
        assert r.status_code == 401
        assert r.json() == {"error": "expired_token",
                            "error_description": "The access token provided has expired."}


def test_oauth_refresh_returns_a_new_pair_and_retires_the_old_refresh_token(sb):
    tokens = sb.issue_tokens()
    client = sb.oauth_client()
    query = {"grant_type": "refresh_token", "client_id": client["client_id"],
             "client_secret": client["client_secret"], "refresh_token": tokens["refresh_token"]}
    fresh = requests.get(client["token_url"], params=query, timeout=10)
    assert fresh.status_code == 200
    new = fresh.json()
    assert new["access_token"] != tokens["access_token"]
    assert new["refresh_token"] != tokens["refresh_token"]
    assert call(_rest(sb), "profile", {"auth": new["access_token"]}).status_code == 200
    again = requests.get(client["token_url"], params=query, timeout=10)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert sb.stats.token_requests == 2


def test_oauth_wrong_client_secret_is_invalid_client(sb):
    tokens = sb.issue_tokens()
    client = sb.oauth_client()
    r = requests.get(client["token_url"], timeout=10, params={
        "grant_type": "refresh_token", "client_id": client["client_id"],
        "client_secret": "wrong", "refresh_token": tokens["refresh_token"]})
    assert r.json()["error"] == "invalid_client"


def test_fault_expired_token_expires_the_callers_token_until_refresh(sb):
    tokens = sb.issue_tokens()
    sb.faults.add(kind="expired_token", p=1.0, times=1)
    rest = _rest(sb)
    r = call(rest, "profile", {"auth": tokens["access_token"]})
    assert r.status_code == 401
    assert r.json()["error"] == "expired_token"
    assert call(rest, "profile", {"auth": tokens["access_token"]}).status_code == 401
    client = sb.oauth_client()
    new = requests.get(client["token_url"], timeout=10, params={
        "grant_type": "refresh_token", "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "refresh_token": tokens["refresh_token"]}).json()
    assert call(rest, "profile", {"auth": new["access_token"]}).status_code == 200


def test_fault_after_runs_the_write_then_loses_the_answer(sb):
    sb.faults.add(method="crm.orderentity.add", kind="reset", p=1.0, times=1, after=True)
    with pytest.raises(requests.ConnectionError):
        call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": 40, "ownerId": 8, "ownerTypeId": 2}})
    assert {"orderId": 40, "ownerId": 8, "ownerTypeId": 2} in sb.bindings()


def test_fault_500_after_the_write_still_binds(sb):
    sb.faults.add(method="crm.orderentity.add", kind="500", p=1.0, after=True)
    r = call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": 41, "ownerId": 9, "ownerTypeId": 2}})
    assert r.status_code == 500
    assert {"orderId": 41, "ownerId": 9, "ownerTypeId": 2} in sb.bindings()


def test_fault_before_the_call_leaves_no_write(sb):
    sb.faults.add(method="crm.orderentity.add", kind="reset", p=1.0, times=1)
    with pytest.raises(requests.ConnectionError):
        call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": 42, "ownerId": 9, "ownerTypeId": 2}})
    assert all(b["orderId"] != 42 for b in sb.bindings())
