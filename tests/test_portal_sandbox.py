"""Portal.call / batch / connect against the sandbox over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from b24nb.errors import (
    AuthError,
    DuplicateBindingError,
    MethodNotFoundError,
    OrderNotFoundError,
    OutcomeUnknownError,
    PortalError,
)
from b24nb.limits import ScaledClock
from b24nb.portal import CommandResult, Portal, connect
from b24nb.testing import scaled_portal


def secret_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_call_returns_result_and_call_full_the_envelope(small_sandbox):
    portal = scaled_portal(small_sandbox)
    deal = portal.call("crm.deal.get", {"id": 1})
    assert deal["ID"] == "1"
    full = portal.call_full("crm.deal.list", {"select": ["ID"], "start": 0})
    assert full.total == 200
    assert full.next == 50
    assert len(full.result) == 50
    assert "start" in full.time


def test_call_raises_the_specific_error_with_code_and_method(small_sandbox):
    portal = scaled_portal(small_sandbox)
    with pytest.raises(MethodNotFoundError) as exc:
        portal.call("crm.nothing.here")
    assert exc.value.status == 404
    assert exc.value.method == "crm.nothing.here"
    with pytest.raises(OrderNotFoundError) as exc2:
        portal.call("crm.orderentity.add",
                    {"fields": {"orderId": 999999, "ownerTypeId": 2, "ownerId": 1}})
    assert str(exc2.value.code) == "200540400001"


def test_batch_returns_per_command_results_errors_and_times_in_order(small_sandbox):
    portal = scaled_portal(small_sandbox)
    order_id, bound = next((b["orderId"], b) for b in small_sandbox.bindings())
    res = portal.batch({
        "deal": ("crm.deal.get", {"id": 2}),
        "dup": ("crm.orderentity.add", {"fields": bound}),
        "list": ("crm.deal.list", {"select": ["ID"], "start": 0}),
    })
    assert list(res) == ["deal", "dup", "list"]
    assert all(isinstance(r, CommandResult) for r in res.values())
    assert res["deal"].ok
    assert res["deal"].result["ID"] == "2"
    assert not res["dup"].ok
    assert isinstance(res["dup"].error, DuplicateBindingError)
    assert res["dup"].error.method == "crm.orderentity.add"
    assert res["list"].total == 200
    assert res["list"].next == 50
    assert "duration" in res["deal"].time
    assert order_id > 0


def test_batch_accepts_a_sequence_and_splits_over_50_commands(small_sandbox):
    portal = scaled_portal(small_sandbox)
    small_sandbox.stats.reset()
    res = portal.batch([("crm.deal.get", {"id": i}) for i in range(1, 121)])
    assert list(res) == [str(i) for i in range(120)]
    assert [r.result["ID"] for r in res.values()] == [str(i) for i in range(1, 121)]
    assert small_sandbox.stats.http_requests == 3  # 50 + 50 + 20


def test_batch_result_references_chain_within_a_request(small_sandbox):
    portal = scaled_portal(small_sandbox)
    res = portal.batch({
        "a": ("crm.deal.list", {"order": {"ID": "ASC"}, "select": ["ID"], "start": -1}),
        "b": ("crm.deal.list", {"order": {"ID": "ASC"}, "select": ["ID"], "start": -1,
                                "filter": {">ID": "$result[a][49][ID]"}}),
    })
    assert [r["ID"] for r in res["b"].result][:2] == ["51", "52"]


def test_wrong_secret_raises_a_clear_auth_error_without_the_secret(small_sandbox):
    bad = small_sandbox.url.replace(secret_of(small_sandbox.url), "wr0ngsecretvalue")
    portal = Portal(bad, progress=False)
    with pytest.raises(AuthError) as exc:
        portal.call("profile")
    err = exc.value
    assert err.code == "INVALID_CREDENTIALS"
    assert err.status == 401
    text = f"{err} {err!r} {err.__cause__!r} {err.__context__!r} {portal!r}"
    assert "wr0ngsecretvalue" not in text
    assert secret_of(small_sandbox.url) not in text


def test_repr_and_errors_never_show_the_webhook_secret(small_sandbox):
    # a fast clock: the retries of the always-reset read back off in milliseconds
    portal = Portal(small_sandbox.url, progress=False, clock=ScaledClock(1000.0))
    assert secret_of(small_sandbox.url) not in repr(portal)
    small_sandbox.faults.add(method="profile", kind="reset", p=1.0, seed=1)
    with pytest.raises(PortalError) as exc:
        portal.call("profile")
    small_sandbox.faults.clear()
    assert secret_of(small_sandbox.url) not in f"{exc.value} {exc.value!r} {exc.value.__cause__}"
    assert exc.value.__cause__ is None  # requests' message (with the URL) is not chained


def test_write_is_resent_after_503_because_it_surely_did_not_run(small_sandbox):
    portal = Portal(small_sandbox.url, progress=False, clock=ScaledClock(100.0))
    b = small_sandbox.bindings()[0]
    other = 1 if b["ownerId"] != 1 else 2
    small_sandbox.faults.add(method="crm.orderentity.add", kind="503", p=1.0, seed=1, times=2)
    res = portal.call("crm.orderentity.add",
                      {"fields": {"orderId": b["orderId"], "ownerTypeId": 2, "ownerId": other}})
    assert res["dealOrder"]["ownerId"] == other
    assert portal.stats.retries == 2


def test_write_whose_answer_was_lost_raises_outcome_unknown_and_is_not_resent(small_sandbox):
    portal = scaled_portal(small_sandbox)
    b = small_sandbox.bindings()[1]
    other = 3 if b["ownerId"] != 3 else 4
    small_sandbox.faults.add(method="crm.orderentity.add", kind="500", p=1.0, seed=1, times=1)
    small_sandbox.stats.reset()
    with pytest.raises(OutcomeUnknownError) as exc:
        portal.call("crm.orderentity.add",
                    {"fields": {"orderId": b["orderId"], "ownerTypeId": 2, "ownerId": other}})
    assert exc.value.method == "crm.orderentity.add"
    assert small_sandbox.stats.http_requests == 1  # never resent blindly
    assert portal.stats.retries == 0


def test_read_is_retried_after_500_and_reset(small_sandbox):
    portal = scaled_portal(small_sandbox)
    small_sandbox.faults.add(method="crm.deal.get", kind="500", p=1.0, seed=1, times=1)
    assert portal.call("crm.deal.get", {"id": 5})["ID"] == "5"
    small_sandbox.faults.add(method="crm.deal.get", kind="reset", p=1.0, seed=1, times=1)
    assert portal.call("crm.deal.get", {"id": 6})["ID"] == "6"
    assert portal.stats.retries == 2


def test_sync_api_works_inside_a_running_event_loop(small_sandbox):
    portal = scaled_portal(small_sandbox)

    async def notebook_cell():
        rows = list(portal.list("crm.deal.list", {"select": ["ID"]}))
        return rows, portal.call("profile")

    rows, profile = asyncio.run(notebook_cell())
    assert isinstance(rows, list)
    assert len(rows) == 200
    assert profile["ID"] == "1"


def test_connect_with_url_refuses_plain_http_to_a_remote_host():
    with pytest.raises(ValueError, match="https"):
        connect("http://example.bitrix24.com/rest/1/abcdefgh/")


def test_connect_without_settings_starts_the_demo_sandbox_and_says_so(monkeypatch, capsys):
    for key in ("B24_WEBHOOK_URL", "B24_OAUTH_ACCESS_TOKEN", "B24_OAUTH_REFRESH_TOKEN",
                "B24_OAUTH_CLIENT_ID", "B24_OAUTH_CLIENT_SECRET", "B24_OAUTH_CLIENT_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    portal = connect(progress=False)
    try:
        out = capsys.readouterr().out
        assert out.count("\n") == 1
        assert "sandbox" in out
        assert portal.sandbox is not None
        assert secret_of(portal.sandbox.url) not in out
        assert portal.call("profile")["ID"] == "1"
        assert portal.call_full("crm.deal.list", {"start": 0}).total > 0
    finally:
        portal.close()
    assert portal.sandbox is None


def test_connect_reads_the_webhook_from_the_environment(small_sandbox, monkeypatch):
    monkeypatch.setenv("B24_WEBHOOK_URL", small_sandbox.url)
    portal = connect(progress=False)
    assert portal.sandbox is None
    assert portal.call("profile")["ID"] == "1"
