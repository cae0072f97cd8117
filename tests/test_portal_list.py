"""Portal.list against the sandbox over real HTTP: exact, never short, within the limits."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest

from b24nb.errors import ListIncompleteError, OperationTimeLimitError
from b24nb.sandbox import Sandbox
from b24nb.testing import scaled_portal

N = 20_000
SCALE = 50.0  # sandbox clocks (bucket, latency, operating window) run 50x faster


@pytest.fixture(scope="module")
def big() -> Iterator[Sandbox]:
    with Sandbox(seed=3, n_deals=N, n_orders=300, limits=True, latency=True,
                 time_scale=SCALE) as sb:
        yield sb


@pytest.fixture
def sb(big: Sandbox) -> Iterator[Sandbox]:
    big.faults.clear()
    big.stats.reset()
    yield big
    big.faults.clear()


def ids(rows: list[dict]) -> list[int]:
    return [int(r["ID"]) for r in rows]


@pytest.mark.slow
def test_list_returns_every_deal_exactly_once_despite_503_500_and_resets(sb):
    sb.faults.add(method="*", kind="503", p=0.2, seed=11)
    sb.faults.add(method="*", kind="500", p=0.05, seed=12)
    sb.faults.add(method="*", kind="reset", p=0.05, seed=13)
    portal = scaled_portal(sb)
    got = ids(list(portal.list("crm.deal.list", {"select": ["ID", "TITLE"]})))
    assert len(got) == N
    assert sorted(got) == list(range(1, N + 1))  # no duplicates, none missing
    assert got == sorted(got)  # and in ID order
    assert portal.stats.retries > 0  # the faults really fired and were retried
    assert sb.stats.faults_injected > 0


def test_list_uses_at_most_one_request_per_2500_rows_plus_three(sb):
    portal = scaled_portal(sb)
    rows = list(portal.list("crm.deal.list", {"select": ["ID", "TITLE", "OPPORTUNITY"]}))
    assert len(rows) == N
    assert sb.stats.http_requests <= math.ceil(N / 2500) + 3
    assert sb.stats.refused_503 == 0  # the client bucket kept us under the portal's


def test_list_keeps_select_and_drops_the_id_it_had_to_add(sb):
    portal = scaled_portal(sb)
    rows = list(portal.list("crm.deal.list", {"select": ["TITLE"]}))
    assert len(rows) == N
    assert all(set(r) == {"TITLE"} for r in rows)


def test_list_keeps_the_user_filter_on_sparse_ids(sb):
    portal = scaled_portal(sb)
    flt = {">OPPORTUNITY": 50000, "CURRENCY_ID": "RUB"}
    expected = portal.call_full("crm.deal.list", {"filter": flt, "select": ["ID"]}).total
    got = ids(list(portal.list("crm.deal.list", {"filter": flt, "select": ["ID", "OPPORTUNITY"]})))
    assert 0 < len(got) < N
    assert len(got) == expected
    assert len(set(got)) == len(got)
    assert all(float(r["OPPORTUNITY"]) > 50000 for r in portal.list(
        "crm.deal.list", {"filter": flt, "select": ["OPPORTUNITY"]}))


def test_list_respects_user_id_bounds(sb):
    portal = scaled_portal(sb)
    got = ids(list(portal.list("crm.deal.list", {"filter": {">ID": 100, "<ID": 5001},
                                                 "select": ["ID"]})))
    assert got == list(range(101, 5001))


def test_list_with_user_order_descending_uses_offset_pages_in_that_order(sb):
    portal = scaled_portal(sb)
    got = ids(list(portal.list("crm.deal.list", {"filter": {"<ID": 3001},
                                                 "order": {"ID": "DESC"}, "select": ["ID"]})))
    assert got == list(range(3000, 0, -1))


def test_list_raises_with_rows_when_a_batch_command_fails(sb, monkeypatch):
    # a refused command is retried for a whole 10-minute window (70 refusals); three are
    # enough to show that the last one raises, and keep this test at a few seconds
    monkeypatch.setattr("b24nb.limits._OPERATING_ATTEMPTS", 3)
    portal = scaled_portal(sb, max_workers=1)
    gen = portal.list("crm.deal.list", {"select": ["ID"]})
    first = [next(gen) for _ in range(10)]  # the probe page is in
    # from now on every crm.deal.list command inside a batch is refused per command
    sb.faults.add(method="crm.deal.list", kind="429", p=1.0, seed=1)
    with pytest.raises(ListIncompleteError) as exc:
        for _ in gen:
            pass
    err = exc.value
    assert isinstance(err.error, OperationTimeLimitError)
    assert isinstance(err.__cause__, OperationTimeLimitError)
    assert len(err.rows) >= 50  # the probe page, carried by the error
    assert ids(err.rows)[:10] == ids(first)
    assert len(err.rows) < N


def test_list_retries_a_command_refused_once_and_completes(sb):
    portal = scaled_portal(sb)
    sb.faults.add(method="crm.deal.list", kind="429", p=0.5, seed=4, times=3)
    got = ids(list(portal.list("crm.deal.list", {"select": ["ID"]})))
    assert sorted(got) == list(range(1, N + 1))


def test_list_of_orders_unwraps_orders_and_walks_lowercase_id(sb):
    portal = scaled_portal(sb)
    rows = list(portal.list("sale.order.list", {"select": ["id", "price"]}))
    assert len(rows) == 300
    assert [r["id"] for r in rows] == list(range(1, 301))


def test_list_of_bindings_is_walked_as_a_keyset_on_order_id(sb):
    portal = scaled_portal(sb)
    rows = list(portal.list("crm.orderentity.list"))
    assert rows
    assert [r["orderId"] for r in rows] == sorted(r["orderId"] for r in rows)
    assert len({r["orderId"] for r in rows}) == len(rows)
    assert len(rows) == len(sb.bindings())


def test_closing_the_generator_early_stops_the_workers(sb):
    portal = scaled_portal(sb)
    gen = portal.list("crm.deal.list", {"select": ["ID"]})
    assert len([next(gen) for _ in range(60)]) == 60
    gen.close()
    time.sleep(0.5)  # workers still in flight finish their one batch, then stop
    settled = sb.stats.http_requests
    time.sleep(0.5)
    assert sb.stats.http_requests == settled
    assert settled <= math.ceil(N / 2500) + 3


def test_progress_bar_shows_rows_and_never_the_secret(sb, capsys):
    portal = scaled_portal(sb)
    rows = list(portal.list("crm.deal.list", {"select": ["ID"]}, progress=True))
    assert len(rows) == N
    err = capsys.readouterr().err
    assert "crm.deal.list" in err
    assert "rows" in err
    assert sb.url.rstrip("/").rsplit("/", 1)[-1] not in err


def test_progress_false_prints_nothing(sb, capsys):
    portal = scaled_portal(sb)
    assert len(list(portal.list("crm.deal.list", {"select": ["ID"]}, progress=False))) == N
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == ""
