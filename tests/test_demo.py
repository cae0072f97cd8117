"""Claims about the sandbox's demo data: deterministic, exact counts, a truthful truth, the mix."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

import pytest

from b24nb.sandbox.demo import DemoData, make_demo


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return make_demo()


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_same_seed_gives_identical_records() -> None:
    assert make_demo(seed=7, n_deals=300, n_orders=360) == make_demo(seed=7, n_deals=300,
                                                                      n_orders=360)


def test_different_seeds_give_different_records() -> None:
    assert make_demo(seed=1, n_deals=300, n_orders=360).deals != make_demo(
        seed=2, n_deals=300, n_orders=360).deals


@pytest.mark.parametrize(("n_deals", "n_orders"),
                         [(2000, 2400), (200, 240), (10, 3), (3, 10), (1, 1), (0, 0), (50, 0),
                          (0, 50)])
def test_counts_are_exact(n_deals: int, n_orders: int) -> None:
    d = make_demo(seed=3, n_deals=n_deals, n_orders=n_orders)
    assert (len(d.deals), len(d.orders)) == (n_deals, n_orders)
    assert [x["ID"] for x in d.deals] == list(range(1, n_deals + 1))
    assert [x["id"] for x in d.orders] == list(range(1, n_orders + 1))


def test_ids_grow_with_creation_time(demo: DemoData) -> None:
    deal_times = [_when(x["DATE_CREATE"]) for x in demo.deals]
    order_times = [_when(x["dateInsert"]) for x in demo.orders]
    assert deal_times == sorted(deal_times)
    assert order_times == sorted(order_times)
    assert deal_times[-1] - deal_times[0] > timedelta(days=500)  # about 18 months


def test_records_use_api_field_names_and_types(demo: DemoData) -> None:
    deal, order, contact = demo.deals[0], demo.orders[0], demo.contacts[0]
    for key in ("ID", "TITLE", "OPPORTUNITY", "CURRENCY_ID", "CONTACT_ID", "COMPANY_ID",
                "DATE_CREATE", "ASSIGNED_BY_ID", "STAGE_ID"):
        assert key in deal
    for key in ("id", "accountNumber", "price", "currency", "dateInsert", "userId",
                "responsibleId", "statusId", "payed", "canceled", "personTypeId", "clients",
                "properties"):
        assert key in order
    assert set(order["properties"]) == {"NAME", "EMAIL", "PHONE"}
    assert {"ID", "NAME", "LAST_NAME", "EMAIL", "PHONE"} <= set(contact)
    assert _when(deal["DATE_CREATE"]).utcoffset() == timedelta(hours=3)
    assert isinstance(order["accountNumber"], str)
    assert order["payed"] in ("Y", "N")


def test_truth_points_at_existing_real_deals(demo: DemoData) -> None:
    deal_ids = {x["ID"] for x in demo.deals}
    order_ids = {x["id"] for x in demo.orders}
    assert len(demo.truth) > 0.35 * len(demo.orders)
    assert set(demo.truth) <= order_ids
    assert set(demo.truth.values()) <= deal_ids - demo.auto_deal_ids


def test_true_pairs_agree_on_currency_and_mostly_on_amount(demo: DemoData) -> None:
    deals = {x["ID"]: x for x in demo.deals}
    orders = {x["id"]: x for x in demo.orders}
    equal = 0
    for oid, did in demo.truth.items():
        o, d = orders[oid], deals[did]
        assert o["currency"] == d["CURRENCY_ID"]
        gap = _when(o["dateInsert"]) - _when(d["DATE_CREATE"])
        assert timedelta(days=-1) <= gap <= timedelta(days=21)
        equal += o["price"] == d["OPPORTUNITY"]
    assert equal > 0.5 * len(demo.truth)


def test_every_binding_names_an_existing_order_and_deal(demo: DemoData) -> None:
    deal_ids = {x["ID"] for x in demo.deals}
    order_ids = [b["orderId"] for b in demo.bindings]
    assert len(order_ids) == len(set(order_ids))  # one owner per order
    assert all(b["ownerId"] in deal_ids and b["ownerTypeId"] == 2 for b in demo.bindings)
    assert set(order_ids) <= {x["id"] for x in demo.orders}


def test_auto_created_deals_mirror_their_order(demo: DemoData) -> None:
    deals = {x["ID"]: x for x in demo.deals}
    orders = {x["id"]: x for x in demo.orders}
    contacts = {x["ID"]: x for x in demo.contacts}
    owner = {b["ownerId"]: b["orderId"] for b in demo.bindings}
    assert len(demo.auto_deal_ids) >= 0.25 * len(demo.orders)
    for did in demo.auto_deal_ids:
        d = deals[did]
        o = orders[owner[did]]  # every auto deal owns exactly its order
        acc = o["accountNumber"]
        assert re.search(rf"(№|#| ){acc}\b", d["TITLE"])
        lag = _when(d["DATE_CREATE"]) - _when(o["dateInsert"])
        assert timedelta(minutes=1) <= lag <= timedelta(minutes=10)
        assert d["OPPORTUNITY"] == o["price"]
        assert d["CURRENCY_ID"] == o["currency"]
        dup = contacts[d["CONTACT_ID"]]
        assert o["clients"][0] == {"entityTypeId": 3, "entityId": dup["ID"], "isPrimary": "Y"}
        emails = [e["VALUE"] for e in dup["EMAIL"]]
        assert emails == ([o["properties"]["EMAIL"].lower()] if o["properties"]["EMAIL"] else [])


def test_main_rebind_case_is_common(demo: DemoData) -> None:
    """Many true orders sit on an auto duplicate while their real deal has no order."""
    bound = {b["orderId"]: b["ownerId"] for b in demo.bindings}
    on_dup = [o for o, d in demo.truth.items() if bound.get(o) in demo.auto_deal_ids]
    correct = [o for o, d in demo.truth.items() if bound.get(o) == d]
    unbound = [o for o in demo.truth if o not in bound]
    assert len(on_dup) > 0.3 * len(demo.truth)
    assert len(correct) > 0.05 * len(demo.truth)
    assert len(unbound) > 0.2 * len(demo.truth)
    real_owners = set(bound.values()) - demo.auto_deal_ids
    single = {d for d, n in Counter(demo.truth.values()).items() if n == 1}
    assert not {demo.truth[o] for o in on_dup} & real_owners & single


def test_mix_has_repeat_customers_near_misses_and_orders_without_deal(demo: DemoData) -> None:
    per_contact = Counter(x["CONTACT_ID"] for x in demo.deals
                          if x["ID"] not in demo.auto_deal_ids and x["CONTACT_ID"])
    assert sum(1 for n in per_contact.values() if n >= 2) > 50  # repeat customers
    real = [x for x in demo.deals if x["ID"] not in demo.auto_deal_ids]
    matched = set(demo.truth.values())
    assert len([x for x in real if x["ID"] not in matched]) > 100  # deals with no order
    assert len(demo.orders) - len(demo.truth) > 500  # orders with no real deal
    amounts = Counter((x["OPPORTUNITY"], x["CURRENCY_ID"]) for x in real)
    assert amounts.most_common(1)[0][1] > 30  # ambiguous catalogue amounts
    assert {x["CURRENCY_ID"] for x in demo.deals} == {"RUB", "USD", "EUR", "KZT"}
    assert Counter(x["CURRENCY_ID"] for x in demo.deals).most_common(1)[0][0] == "RUB"
    doubles = Counter(demo.truth.values())
    assert any(n == 2 for n in doubles.values())  # a deal with a split delivery


def test_order_number_appears_in_some_real_deal_titles(demo: DemoData) -> None:
    deals = {x["ID"]: x for x in demo.deals}
    orders = {x["id"]: x for x in demo.orders}
    hits = sum(1 for o, d in demo.truth.items()
               if re.search(rf"№{orders[o]['accountNumber']}\b|Заказ {orders[o]['accountNumber']}:",
                            deals[d]["TITLE"]))
    assert hits > 0.05 * len(demo.truth)


def test_customers_write_phones_names_and_emails_variously(demo: DemoData) -> None:
    phones = [o["properties"]["PHONE"] for o in demo.orders if o["properties"]["PHONE"]]
    shapes = {re.sub(r"\d", "9", p) for p in phones}
    assert len(shapes) >= 6
    assert any(p.startswith("8") for p in phones)
    assert any(p.startswith("+7 (") for p in phones)
    names = " ".join(o["properties"]["NAME"] for o in demo.orders)
    assert re.search("[А-Яа-я]", names)
    assert re.search("[A-Za-z]", names)
    assert any(o["properties"]["EMAIL"] is None for o in demo.orders)
    assert any((o["properties"]["EMAIL"] or "").isupper() for o in demo.orders)


@pytest.mark.slow
def test_makes_200k_deals_and_orders_quickly() -> None:
    import time

    start = time.process_time()
    d = make_demo(seed=0, n_deals=200_000, n_orders=200_000)
    took = time.process_time() - start
    assert (len(d.deals), len(d.orders)) == (200_000, 200_000)  # rendered on first read
    read = time.process_time() - start - took
    assert took < 14  # about 5.6 s of CPU on a quiet 2-core machine (7.3 s before)
    assert read < 5  # the API-form deals and orders: about 1.2 s
