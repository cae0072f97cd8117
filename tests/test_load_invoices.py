"""Invoices over HTTP: loads exact against the seeded store, binding to an invoice read back."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import requests

import b24nb
from b24nb.errors import FieldError, ValidationError


@pytest.fixture(scope="module")
def sb():
    from b24nb.sandbox import Sandbox

    with Sandbox(seed=3, n_deals=300, n_orders=360, limits=False, latency=False) as box:
        yield box


@pytest.fixture(scope="module")
def portal(sb):
    return b24nb.connect(sb.url, progress=False)


def _ts(value):
    return None if value is None else pd.Timestamp(datetime.fromtimestamp(value, UTC))


def test_smart_invoices_exact(sb, portal):
    frame = b24nb.load_invoices(portal, progress=False)
    seeded = sb.invoices("smart")
    assert len(seeded) > 10
    assert frame.index.tolist() == [r["id"] for r in seeded]
    assert str(frame.index.dtype) == "Int64"
    assert frame.index.name == "invoice_id"
    assert (frame["owner_type_id"] == 31).all()
    for row in seeded:
        got = frame.loc[row["id"]]
        assert got["title"] == row["title"]
        assert got["accountNumber"] == row["accountNumber"]
        assert got["opportunity"] == pytest.approx(row["opportunity"])
        assert got["currencyId"] == row["currencyId"]
        assert got["contactId"] == row["contactId"]
        assert got["stageId"] == row["stageId"]
        assert got["createdTime"] == _ts(row["createdTime"])
    assert str(frame["createdTime"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["opportunity"].dtype) == "float64"
    assert str(frame["contactId"].dtype) == "Int64"
    # the contact join: every seeded invoice contact has a name, most an e-mail
    assert frame["contact_name"].notna().all()
    assert frame["contact_email"].notna().mean() > 0.8


def test_legacy_invoices_exact(sb, portal):
    frame = b24nb.load_invoices(portal, kind="legacy", progress=False)
    seeded = sb.invoices("legacy")
    assert len(seeded) >= 4
    assert frame.index.tolist() == [r["ID"] for r in seeded]
    assert (frame["owner_type_id"] == 5).all()
    for row in seeded:
        got = frame.loc[row["ID"]]
        assert got["ACCOUNT_NUMBER"] == row["ACCOUNT_NUMBER"]
        assert got["ORDER_TOPIC"] == row["ORDER_TOPIC"]
        assert got["PRICE"] == pytest.approx(row["PRICE"])
        assert got["CURRENCY"] == row["CURRENCY"]
        assert got["UF_CONTACT_ID"] == row["UF_CONTACT_ID"]
        assert bool(got["PAYED"]) == (row["PAYED"] == "Y")
        assert got["DATE_INSERT"] == _ts(row["DATE_INSERT"])
    assert str(frame["PAYED"].dtype) == "boolean"
    assert str(frame["UF_CONTACT_ID"].dtype) == "Int64"


def test_legacy_wire_values_are_strings(sb):
    body = requests.post(sb.url + "crm.invoice.list", json={"start": 0}, timeout=10).json()
    first = body["result"][0]
    assert isinstance(first["ID"], str)
    assert isinstance(first["PRICE"], str)
    assert body["total"] == len(sb.invoices("legacy"))


def test_item_list_still_serves_deals_and_refuses_unknown_types(sb):
    deals = requests.post(sb.url + "crm.item.list", json={"entityTypeId": 2}, timeout=10).json()
    assert deals["result"]["items"][0]["id"] == 1
    bad = requests.post(sb.url + "crm.item.list", json={"entityTypeId": 777}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error"] == "NOT_FOUND"


def test_unknown_field_refused_before_listing(portal):
    with pytest.raises(FieldError, match="acountNumber"):
        b24nb.load_invoices(portal, select=["acountNumber"], progress=False)
    with pytest.raises(ValueError, match="kind"):
        b24nb.load_invoices(portal, kind="quote", progress=False)


def _pair(order_id, owner_id, owner_type):
    return pd.DataFrame({"deal_id": pd.array([owner_id], dtype="Int64"),
                         "order_id": pd.array([order_id], dtype="Int64"),
                         "owner_type_id": pd.array([owner_type], dtype="Int64"),
                         "selected": [True]},
                        index=pd.Index(pd.array([0], dtype="Int64"), name="pair_id"))


@pytest.mark.parametrize(("kind", "owner_type"), [("smart", 31), ("legacy", 5)])
def test_bind_order_to_invoice_read_back(sb, portal, journal_path, kind, owner_type):
    frame = b24nb.load_invoices(portal, kind=kind, progress=False)
    bound = {b["orderId"] for b in sb.bindings()}
    order_id, (_otype, invoice_id) = next(
        (o, t) for o, t in sorted(sb.truth_owner.items())
        if t[0] == owner_type and o not in bound)
    pairs = _pair(order_id, invoice_id, owner_type)
    summary = b24nb.bind(portal, pairs, invoices=[frame], progress=False)
    assert pairs.loc[0, "bind_status"] == "bound", summary
    listed = portal.call("crm.orderentity.list", {"filter": {"orderId": order_id}})
    assert listed["orderEntity"] == [{"orderId": order_id, "ownerId": invoice_id,
                                      "ownerTypeId": owner_type}]
    back = b24nb.load_bindings(portal, progress=False)
    assert back.loc[order_id].tolist() == [invoice_id, owner_type]


def test_bind_refuses_invoice_missing_from_its_frame(sb, portal, journal_path):
    smart = b24nb.load_invoices(portal, progress=False)
    legacy = b24nb.load_invoices(portal, kind="legacy", progress=False)
    before = sb.bindings()
    sb.stats.reset()
    # a legacy invoice id that exists only among smart invoices, and an unknown smart id
    missing = int(smart.index.max()) + 100
    for pairs in (_pair(1, missing, 31), _pair(1, int(smart.index.max()) + 1000, 5)):
        with pytest.raises(ValidationError, match="not in the invoices frames"):
            b24nb.bind(portal, pairs, invoices=[smart, legacy], progress=False)
    assert sb.stats.http_requests == 0
    assert sb.bindings() == before


def test_filters_and_wildcards_pass_through(sb, portal):
    paid = b24nb.load_invoices(portal, filter={"stageId": "DT31_1:P"}, progress=False)
    expected = {r["id"] for r in sb.invoices("smart") if r["stageId"] == "DT31_1:P"}
    assert set(paid.index) == expected
    assert expected
    legacy = b24nb.load_invoices(portal, kind="legacy", select=["*", "UF_*"],
                                 filter={"STATUS_ID": "P"}, contacts=False, progress=False)
    assert set(legacy.index) == {r["ID"] for r in sb.invoices("legacy") if r["STATUS_ID"] == "P"}
    assert {"UF_DEAL_ID", "PAY_SYSTEM_ID", "owner_type_id"} <= set(legacy.columns)
    assert "contact_name" not in legacy.columns
    wide = b24nb.load_invoices(portal, select=["*"], progress=False)
    assert "contactIds" not in wide.columns  # a list per row, not a column
    assert len(wide) == len(sb.invoices("smart"))
