"""load_all: the loaders side by side, the invoices with them; load_orders' shared first request."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import b24nb
from b24nb.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=4, n_deals=400, n_orders=480, limits=False, latency=False) as box:
        yield box


def test_load_all_with_invoices_equals_each_loader_alone(sb):
    portal = b24nb.connect(sb.url, progress=False)
    deals, orders, bindings, invoices = b24nb.load_all(portal, invoices=True, progress=False)
    pd.testing.assert_frame_equal(deals, b24nb.load_deals(portal, progress=False))
    pd.testing.assert_frame_equal(orders, b24nb.load_orders(portal, progress=False))
    pd.testing.assert_frame_equal(bindings, b24nb.load_bindings(portal, progress=False))
    assert [f.attrs["invoice_kind"] for f in invoices] == ["smart", "legacy"]
    for frame in invoices:
        alone = b24nb.load_invoices(portal, kind=frame.attrs["invoice_kind"], progress=False)
        pd.testing.assert_frame_equal(frame, alone)
    assert len(b24nb.load_all(portal, progress=False)) == 3  # without invoices, as before


def test_load_all_leaves_out_a_kind_of_invoice_the_portal_lacks(sb):
    portal = b24nb.connect(sb.url, progress=False)
    sb.refuse("crm.invoice.fields")
    try:
        *_, invoices = b24nb.load_all(portal, invoices=True, progress=False)
    finally:
        sb.refuse("crm.invoice.fields", None)
    assert [f.attrs["invoice_kind"] for f in invoices] == ["smart"]


def test_load_orders_sends_the_first_requests_of_its_three_lists_as_one(sb):
    portal = b24nb.connect(sb.url, progress=False)
    sent: list[set[str]] = []
    batch = portal.batch

    def recording(commands, **kw):  # observe what each request carries, change nothing
        sent.append({m for m, _ in dict(commands).values()})
        return batch(commands, **kw)

    portal.batch = recording  # type: ignore[method-assign]
    orders = b24nb.load_orders(portal, progress=False)
    three = {"sale.order.list", "crm.ordercontactcompany.list", "sale.propertyvalue.list"}
    assert sum(1 for methods in sent if methods == three) == 1
    assert sum(1 for methods in sent if len(methods) > 1) == 1  # and no other mixed request
    assert len(orders) == 480
    assert orders["contact_id"].notna().any()

