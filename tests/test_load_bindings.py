"""load_bindings against a real sandbox portal: every binding, Int64, filters, names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import b24nb
from b24nb.errors import FieldError

ORDERS = [{"id": i, "accountNumber": str(i), "price": 10.0 * i, "currency": "RUB"}
          for i in range(1, 6)]
DEALS = [{"ID": i, "TITLE": f"deal {i}", "OPPORTUNITY": 10.0, "CURRENCY_ID": "RUB"}
         for i in range(1, 4)]
BINDINGS = [
    {"orderId": 1, "ownerId": 3, "ownerTypeId": 2},
    {"orderId": 2, "ownerId": 1, "ownerTypeId": 2},
    {"orderId": 4, "ownerId": 1, "ownerTypeId": 2},
    {"orderId": 5, "ownerId": 7, "ownerTypeId": 31},
]


@pytest.fixture(scope="module")
def seeded() -> Iterator:
    from b24nb.sandbox import Sandbox

    with Sandbox(orders=ORDERS, deals=DEALS, bindings=BINDINGS, demo=False, limits=False,
                 latency=False) as sb:
        yield sb, b24nb.connect(sb.url, progress=False)


def test_load_bindings_returns_every_binding_indexed_by_order(seeded):
    _, portal = seeded
    frame = b24nb.load_bindings(portal, progress=False)
    assert frame.index.name == "order_id"
    assert frame.index.tolist() == [1, 2, 4, 5]
    assert frame.loc[1, "owner_id"] == 3
    assert frame.loc[5, "owner_type_id"] == 31
    assert list(frame.columns) == ["owner_id", "owner_type_id"]
    assert {str(t) for t in frame.dtypes} == {"Int64"}
    assert str(frame.index.dtype) == "Int64"


def test_load_bindings_passes_the_filter_through(seeded):
    _, portal = seeded
    frame = b24nb.load_bindings(portal, filter={"ownerId": 1, "ownerTypeId": 2}, progress=False)
    assert frame.index.tolist() == [2, 4]


def test_load_bindings_rejects_unknown_filter_field_before_listing(seeded):
    sb, portal = seeded
    sb.stats.reset()
    with pytest.raises(FieldError) as caught:
        b24nb.load_bindings(portal, filter={"dealId": 1}, progress=False)
    assert "'dealId'" in str(caught.value)
    assert sb.stats.method_calls["crm.orderentity.list"] == 0


def test_load_bindings_on_a_portal_without_bindings_is_empty_and_typed():
    from b24nb.sandbox import Sandbox

    with Sandbox(orders=ORDERS, demo=False, limits=False, latency=False) as sb:
        frame = b24nb.load_bindings(b24nb.connect(sb.url, progress=False), progress=False)
    assert frame.empty
    assert list(frame.columns) == ["owner_id", "owner_type_id"]
    assert {str(t) for t in frame.dtypes} == {"Int64"}


def test_load_bindings_matches_the_portals_store_past_one_page(small_sandbox):
    portal = b24nb.connect(small_sandbox.url, progress=False)
    frame = b24nb.load_bindings(portal, progress=False)
    stored = {(b["orderId"], b["ownerId"], b["ownerTypeId"]) for b in small_sandbox.bindings()}
    assert len(stored) > 50  # more than one offset page
    loaded = {(int(o), int(r.owner_id), int(r.owner_type_id)) for o, r in frame.iterrows()}
    assert loaded == stored
    assert frame.index.is_unique
