"""Warm reloads against a real sandbox: exact frames after edits and deletions, no secrets."""

from __future__ import annotations

import pandas as pd
import pytest

import b24nb
from b24nb.load.cache import cache_dir
from b24nb.sandbox import Sandbox


@pytest.fixture
def portal_sb(tmp_path, monkeypatch):
    monkeypatch.setenv("B24NB_CACHE", str(tmp_path / "cache"))
    with Sandbox(seed=3, n_deals=600, n_orders=700, latency=False, limits=False) as sb:
        yield b24nb.connect(sb.url, progress=False), sb


def test_sandbox_edits_stamp_the_modified_time(portal_sb):
    portal, sb = portal_sb
    before = portal.call("crm.deal.get", {"id": 5})["DATE_MODIFY"]
    order_before = portal.call("sale.order.get", {"id": 5})["order"]["dateUpdate"]
    assert sb.edit("deals", [5], TITLE="renamed") == 1
    assert sb.edit("orders", [5], price=12.5) == 1
    deal = portal.call("crm.deal.get", {"id": 5})
    assert deal["TITLE"] == "renamed"
    assert pd.Timestamp(deal["DATE_MODIFY"]) > pd.Timestamp(before)
    order = portal.call("sale.order.get", {"id": 5})["order"]
    assert order["price"] == 12.5
    assert pd.Timestamp(order["dateUpdate"]) > pd.Timestamp(order_before)


def test_warm_deals_equal_a_cold_load_after_edits_deletions_and_contact_edits(portal_sb):
    portal, sb = portal_sb
    first = b24nb.load_deals(portal, progress=False, cache=True)
    assert first.attrs["b24nb_cache"]["cached"] is False
    contact = int(first["CONTACT_ID"].dropna().iloc[10])
    sb.edit("deals", [3, 40, 41], TITLE="edited", OPPORTUNITY=1.0)
    sb.delete("deals", [7, 500])
    sb.edit("contacts", [contact], NAME="Zoya", LAST_NAME="Q")
    warm = b24nb.load_deals(portal, progress=False, cache=True)
    note = warm.attrs["b24nb_cache"]
    assert note["cached"] is True
    assert note["changed"] == 3
    assert note["deleted"] == 2
    cold = b24nb.load_deals(portal, progress=False)
    pd.testing.assert_frame_equal(warm, cold)
    assert (warm["contact_name"] == "Zoya Q").sum() >= 1
    # nothing changed since: at most the rows within the mark's safety margin are re-read
    again = b24nb.load_deals(portal, progress=False, cache=True)
    assert again.attrs["b24nb_cache"]["changed"] <= 3
    assert again.attrs["b24nb_cache"]["deleted"] == 0
    pd.testing.assert_frame_equal(again, cold)


def test_warm_orders_equal_a_cold_load_with_a_filter(portal_sb):
    portal, sb = portal_sb
    flt = {"currency": "RUB"}
    b24nb.load_orders(portal, filter=flt, progress=False, cache=True)
    cold_ids = b24nb.load_orders(portal, filter=flt, progress=False).index
    sb.edit("orders", [int(cold_ids[0]), int(cold_ids[5])], price=3.0)
    sb.edit("orders", [int(cold_ids[9])], currency="USD")  # no longer matches the filter
    sb.delete("orders", [int(cold_ids[20])])
    warm = b24nb.load_orders(portal, filter=flt, progress=False, cache=True)
    assert warm.attrs["b24nb_cache"]["deleted"] == 2
    pd.testing.assert_frame_equal(warm, b24nb.load_orders(portal, filter=flt, progress=False))


def test_refresh_and_other_arguments_load_in_full(portal_sb):
    portal, _ = portal_sb
    b24nb.load_deals(portal, progress=False, cache=True)
    forced = b24nb.load_deals(portal, progress=False, cache="refresh")
    assert forced.attrs["b24nb_cache"]["cached"] is False
    other = b24nb.load_deals(portal, filter={"CURRENCY_ID": "RUB"}, progress=False, cache=True)
    assert other.attrs["b24nb_cache"]["cached"] is False
    with pytest.raises(ValueError, match="cache"):
        b24nb.load_deals(portal, progress=False, cache="yes")


def test_bindings_are_read_whole_and_changes_counted(portal_sb):
    portal, sb = portal_sb
    first = b24nb.load_bindings(portal, cache=True, progress=False)
    sb.delete("orders", [int(first.index[0])])
    second = b24nb.load_bindings(portal, cache=True, progress=False)
    assert second.attrs["b24nb_cache"]["deleted"] == 1
    pd.testing.assert_frame_equal(second, b24nb.load_bindings(portal, progress=False))


def test_cache_files_hold_no_secret(portal_sb):
    portal, sb = portal_sb
    b24nb.load_deals(portal, progress=False, cache=True)
    b24nb.load_orders(portal, progress=False, cache=True)
    b24nb.load_bindings(portal, cache=True, progress=False)
    secret = sb.url.rstrip("/").split("/")[-1]
    files = [p for p in cache_dir().rglob("*") if p.is_file()]
    assert len(files) == 6
    for path in files:
        assert secret not in str(path)
        assert secret.encode() not in path.read_bytes()
