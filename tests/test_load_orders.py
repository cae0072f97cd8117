"""load_orders against a real sandbox portal: dtypes, clients[], customer properties, filters."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd
import pytest

import b24nb
from b24nb.errors import FieldError
from b24nb.load import CLIENT_COLUMNS, CUSTOMER_COLUMNS

ORDERS = [
    {"id": 100, "accountNumber": "100", "price": 1176.5, "currency": "RUB",
     "dateInsert": "2025-06-03T09:00:00+03:00", "userId": 1, "responsibleId": 2,
     "statusId": "N", "payed": "N", "canceled": "N",
     "clients": [{"entityTypeId": 3, "entityId": 10}, {"entityTypeId": 4, "entityId": 5}],
     "properties": {"NAME": "Анна Смирнова", "EMAIL": " ANNA.Smirnova@Mail.ru ",
                    "PHONE": "+7 (916) 123-45-67"}},
    {"id": 101, "accountNumber": "A-101", "price": 99, "currency": "USD",
     "dateInsert": "2025-06-04T23:30:00+03:00", "userId": 1, "responsibleId": 1,
     "statusId": "P", "payed": "Y", "canceled": "N", "clients": [],
     "properties": {"NAME": "Boris", "EMAIL": None, "PHONE": ""}},
    {"id": 102, "accountNumber": "102", "price": 250.0, "currency": "USD",
     "dateInsert": "2025-07-01T12:00:00+00:00", "userId": 3, "responsibleId": 3,
     "statusId": "F", "payed": "Y", "canceled": "Y",
     "clients": [{"entityTypeId": 4, "entityId": 7}],
     "properties": {"NAME": "ООО Ромашка", "EMAIL": "office@romashka.ru", "PHONE": "8 800 1"}},
]


@pytest.fixture(scope="module")
def seeded() -> Iterator:
    from b24nb.sandbox import Sandbox

    with Sandbox(orders=ORDERS, demo=False, limits=False, latency=False) as sb:
        yield sb, b24nb.connect(sb.url, progress=False)


@pytest.fixture(scope="module")
def orders(seeded) -> pd.DataFrame:
    _, portal = seeded
    return b24nb.load_orders(portal, progress=False)


def test_load_orders_types_columns_per_the_frame_contract(orders):
    assert orders.index.name == "order_id"
    assert orders.index.dtype == "Int64"
    expected = {"accountNumber": "string", "price": "float64", "currency": "string",
                "dateInsert": "datetime64[ns, UTC]", "userId": "Int64",
                "responsibleId": "Int64", "statusId": "string", "payed": "boolean",
                "canceled": "boolean", "contact_id": "Int64", "company_id": "Int64",
                "customer_name": "string", "customer_email": "string",
                "customer_phone": "string"}
    assert {c: str(orders[c].dtype) for c in expected} == expected


def test_load_orders_keeps_values_and_converts_dates_to_utc(orders):
    assert orders.index.tolist() == [100, 101, 102]
    assert orders.loc[101, "accountNumber"] == "A-101"
    assert orders.loc[101, "price"] == 99.0
    assert orders.loc[101, "dateInsert"] == pd.Timestamp("2025-06-04T20:30:00Z")
    assert orders["payed"].tolist() == [False, True, True]
    assert orders["canceled"].tolist() == [False, False, True]
    # a status code is a code even when every order has "N"
    assert orders["statusId"].tolist() == ["N", "P", "F"]


def test_load_orders_takes_contact_and_company_from_clients_not_user_id(orders):
    assert orders.loc[100, "contact_id"] == 10
    assert orders.loc[100, "company_id"] == 5
    assert orders.loc[100, "userId"] == 1  # the manager, untouched
    assert pd.isna(orders.loc[101, "contact_id"])
    assert pd.isna(orders.loc[101, "company_id"])
    assert pd.isna(orders.loc[102, "contact_id"])
    assert orders.loc[102, "company_id"] == 7


def test_load_orders_reads_the_customer_from_order_properties(orders):
    assert orders.loc[100, "customer_name"] == "Анна Смирнова"
    assert orders.loc[100, "customer_email"] == "anna.smirnova@mail.ru"
    assert orders.loc[100, "customer_phone"] == "79161234567"
    assert orders.loc[101, "customer_name"] == "Boris"
    assert pd.isna(orders.loc[101, "customer_email"])
    assert pd.isna(orders.loc[101, "customer_phone"])  # "" is no phone
    assert orders.loc[102, "customer_phone"] == "88001"


def test_load_orders_reads_clients_by_list_not_by_order(seeded):
    sb, portal = seeded
    sb.stats.reset()
    b24nb.load_orders(portal, progress=False)
    assert sb.stats.method_calls["sale.order.get"] == 0
    assert sb.stats.method_calls["crm.ordercontactcompany.list"] >= 1


@pytest.mark.parametrize("code", ["ERROR_METHOD_NOT_FOUND", "ACCESS_DENIED"])
def test_load_orders_falls_back_to_order_gets_and_says_so_once(code, caplog):
    from b24nb.load import _children
    from b24nb.sandbox import Sandbox

    with Sandbox(orders=ORDERS, demo=False, limits=False, latency=False) as sb:
        portal = b24nb.connect(sb.url, progress=False)
        listed = b24nb.load_orders(portal, progress=False)
        sb.refuse("crm.ordercontactcompany.list", code)
        _children.FELL_BACK.discard(portal.host)
        sb.stats.reset()
        with pytest.warns(UserWarning, match=code):
            fallback = b24nb.load_orders(portal, progress=False)
        assert sb.stats.method_calls["sale.order.get"] == 3
        # sale.order.get carries propertyValues, but they were listed already meanwhile
        pd.testing.assert_frame_equal(fallback, listed)
        caplog.clear()
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a second warning would raise here
            again = b24nb.load_orders(portal, progress=False)
        assert not [r for r in caplog.records if "not available" in r.getMessage()]
        pd.testing.assert_frame_equal(again, listed)
        # customers from the order gets' propertyValues when properties are not listed
        sb.stats.reset()
        only = b24nb.load_orders(portal, filter={"payed": "Y"}, progress=False)
        assert sb.stats.method_calls["sale.order.get"] == 2
        pd.testing.assert_frame_equal(only, listed.loc[[101, 102]])


def test_load_orders_with_clients_from_gets_lists_no_properties(seeded):
    # without the links method, clients come from sale.order.get, whose answers carry the
    # properties too: a filtered load must not list them again
    from b24nb.load._children import clients_from_gets

    _, portal = seeded
    found, props = clients_from_gets(portal, [100, 102], progress=False)
    assert found.loc[100, "contact_id"] == 10
    assert {(p["orderId"], p["code"]) for p in props} >= {(100, "EMAIL"), (102, "NAME")}


def test_load_orders_skips_what_is_switched_off(seeded):
    sb, portal = seeded
    sb.stats.reset()
    frame = b24nb.load_orders(portal, clients=False, properties=False, progress=False)
    assert sb.stats.method_calls["sale.order.get"] == 0
    assert sb.stats.method_calls["sale.propertyvalue.list"] == 0
    assert not (set(CLIENT_COLUMNS) | set(CUSTOMER_COLUMNS)) & set(frame.columns)


def test_load_orders_honours_select(seeded):
    _, portal = seeded
    frame = b24nb.load_orders(portal, select=["accountNumber", "price"], clients=False,
                              properties=False, progress=False)
    assert list(frame.columns) == ["accountNumber", "price"]
    assert frame.index.tolist() == [100, 101, 102]


def test_load_orders_passes_the_filter_through(seeded):
    _, portal = seeded
    frame = b24nb.load_orders(portal, filter={"payed": "Y"}, progress=False)
    assert frame.index.tolist() == [101, 102]
    assert frame.loc[102, "customer_email"] == "office@romashka.ru"
    frame = b24nb.load_orders(portal, filter={">price": 100, "currency": "USD"}, progress=False)
    assert frame.index.tolist() == [102]


def test_load_orders_rejects_unknown_fields_before_listing(seeded):
    sb, portal = seeded
    sb.stats.reset()
    with pytest.raises(FieldError) as caught:
        b24nb.load_orders(portal, select=["acountNumber"], filter={">=dateInsrt": "2025-01-01"},
                          progress=False)
    message = str(caught.value)
    assert "'acountNumber'" in message
    assert "accountNumber" in message.split("'acountNumber'")[1]
    assert "'dateInsrt'" in message
    assert "dateInsert" in message
    assert sb.stats.method_calls["sale.order.list"] == 0


def test_load_orders_with_no_match_has_the_full_typed_shape(seeded):
    _, portal = seeded
    frame = b24nb.load_orders(portal, filter={"currency": "JPY"}, progress=False)
    assert frame.empty
    for name in CLIENT_COLUMNS:
        assert str(frame[name].dtype) == "Int64"
    for name in CUSTOMER_COLUMNS:
        assert str(frame[name].dtype) == "string"


def test_load_orders_count_equals_the_portals_count_for_the_same_filter(small_sandbox):
    portal = b24nb.connect(small_sandbox.url, progress=False)
    flt = {"payed": "Y", "currency": "RUB"}
    frame = b24nb.load_orders(portal, filter=flt, clients=False, properties=False,
                              progress=False)
    total = portal.call_full("sale.order.list", {"filter": flt, "select": ["id"]}).total
    assert len(frame) == total > 0


def test_load_orders_customers_agree_between_filtered_and_full_loads(small_sandbox):
    # Filtered loads list properties by id (small sets) or by id range (large ones); both
    # must give each order the same customer as the whole-portal listing.
    portal = b24nb.connect(small_sandbox.url, progress=False)
    full = b24nb.load_orders(portal, clients=False, progress=False)
    assert full["customer_name"].notna().mean() > 0.9
    ids = full.index
    for flt in ({">id": int(ids[10])}, {"<=id": int(ids[20])}):
        part = b24nb.load_orders(portal, filter=flt, clients=False, progress=False)
        assert len(part) > 0
        cols = list(CUSTOMER_COLUMNS)
        pd.testing.assert_frame_equal(part[cols], full.loc[part.index, cols])


@pytest.mark.parametrize("n_orders", [240, 2400, 7600])
def test_load_orders_request_count_stays_within_the_list_bound(n_orders):
    # ⌈N/2500⌉ × (1 + links per order + properties per order) + 5, the bound
    from b24nb.sandbox import Sandbox

    with Sandbox(seed=1, n_deals=10, n_orders=n_orders, limits=False, latency=False) as sb:
        portal = b24nb.connect(sb.url, progress=False)
        links = portal.call_full("crm.ordercontactcompany.list", {}).total
        props = portal.call_full("sale.propertyvalue.list", {}).total
        sb.stats.reset()
        orders = b24nb.load_orders(portal, progress=False)
        requests = sb.stats.http_requests
        assert sb.stats.method_calls["sale.order.get"] == 0
    n = len(orders)
    assert n == n_orders
    bound = math.ceil(n / 2500) * (1 + links / n + props / n) + 5
    assert requests <= bound
    assert orders["contact_id"].notna().sum() > 0


@pytest.mark.parametrize("method", ["crm.ordercontactcompany.list", "sale.order.get"])
def test_load_orders_resends_commands_refused_by_the_operating_limit(method):
    # A 429 inside a batch is one command's error in result_error, not a failed request:
    # the loader must send that command again instead of losing the order's clients.
    from b24nb.limits import ScaledClock
    from b24nb.portal import Portal
    from b24nb.sandbox import Sandbox

    with Sandbox(seed=1, n_deals=100, n_orders=120, latency=False, time_scale=100) as sb:
        portal = Portal(sb.url, progress=False, clock=ScaledClock(100, now=sb.clock))
        clean = b24nb.load_orders(portal, progress=False)
        if method == "sale.order.get":
            sb.refuse("crm.ordercontactcompany.list")
        sb.faults.add(method=method, kind="429", p=0.2 if method == "sale.order.get" else 0.6,
                      seed=3)
        sb.stats.reset()
        faulty = b24nb.load_orders(portal, progress=False)
        assert sb.stats.refused_429 > 0
    pd.testing.assert_frame_equal(faulty, clean)


def test_load_orders_prefers_the_primary_client_over_the_first_listed():
    from b24nb.sandbox import Sandbox

    order = {"id": 1, "accountNumber": "1", "price": 1.0, "currency": "RUB",
             "clients": [{"entityTypeId": 3, "entityId": 11, "isPrimary": "N", "sort": 10},
                         {"entityTypeId": 3, "entityId": 10, "isPrimary": "Y", "sort": 20},
                         {"entityTypeId": 4, "entityId": 8, "isPrimary": "N", "sort": 30},
                         {"entityTypeId": 4, "entityId": 9, "isPrimary": "N", "sort": 5}]}
    with Sandbox(orders=[order], demo=False, limits=False, latency=False) as sb:
        frame = b24nb.load_orders(b24nb.connect(sb.url, progress=False), properties=False,
                                  progress=False)
    assert frame.loc[1, "contact_id"] == 10
    assert frame.loc[1, "company_id"] == 9  # no primary: the first by sort
