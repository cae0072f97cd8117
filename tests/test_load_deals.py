"""load_deals against a real sandbox portal over HTTP: dtypes, NA, filters, contacts, names."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd
import pytest

import b24nb
from b24nb.errors import FieldError
from b24nb.load import CONTACT_COLUMNS

DEALS = [
    {"ID": 1, "TITLE": "Ноутбук для ООО Ромашка", "OPPORTUNITY": 19999.99, "CURRENCY_ID": "EUR",
     "CONTACT_ID": 10, "COMPANY_ID": 5, "DATE_CREATE": "2025-06-01T10:00:00+03:00",
     "ASSIGNED_BY_ID": 1, "STAGE_ID": "NEW", "CLOSED": "N"},
    {"ID": 2, "TITLE": "", "OPPORTUNITY": 0, "CURRENCY_ID": "RUB", "CONTACT_ID": None,
     "COMPANY_ID": None, "DATE_CREATE": "2025-06-02T12:30:00+00:00", "ASSIGNED_BY_ID": 2,
     "STAGE_ID": "WON", "CLOSED": "Y"},
    {"ID": 3, "TITLE": "Server rack", "OPPORTUNITY": 1500.5, "CURRENCY_ID": "EUR",
     "CONTACT_ID": 11, "COMPANY_ID": None, "DATE_CREATE": "2025-07-15T23:30:00+03:00",
     "ASSIGNED_BY_ID": 1, "STAGE_ID": "NEW", "CLOSED": "N"},
    {"ID": 4, "TITLE": "Repeat order", "OPPORTUNITY": 250, "CURRENCY_ID": "USD",
     "CONTACT_ID": 10, "COMPANY_ID": 5, "DATE_CREATE": "2025-08-01T09:00:00+03:00",
     "ASSIGNED_BY_ID": 3, "STAGE_ID": "LOSE", "CLOSED": "Y"},
    {"ID": 5, "TITLE": "Contact was deleted", "OPPORTUNITY": 99.9, "CURRENCY_ID": "USD",
     "CONTACT_ID": 99, "COMPANY_ID": None, "DATE_CREATE": "2025-08-02T09:00:00+03:00",
     "ASSIGNED_BY_ID": 3, "STAGE_ID": "NEW", "CLOSED": "N"},
]
CONTACTS = [
    {"ID": 10, "NAME": "Анна", "LAST_NAME": "Смирнова",
     "EMAIL": [{"VALUE": "Anna.Smirnova@Mail.RU", "VALUE_TYPE": "WORK"}],
     "PHONE": [{"VALUE": "+7 (916) 123-45-67", "VALUE_TYPE": "MOBILE"}]},
    {"ID": 11, "NAME": "Boris", "LAST_NAME": "Becker",
     "EMAIL": [{"VALUE": "b@x.com", "VALUE_TYPE": "WORK"},
               {"VALUE": "B2@X.com", "VALUE_TYPE": "HOME"}],
     "PHONE": [{"VALUE": "8 800 100-20-30", "VALUE_TYPE": "WORK"},
               {"VALUE": "+49 30 1234", "VALUE_TYPE": "MOBILE"}]},
]


@pytest.fixture(scope="module")
def seeded() -> Iterator:
    from b24nb.sandbox import Sandbox

    with Sandbox(deals=DEALS, contacts=CONTACTS, demo=False, limits=False, latency=False) as sb:
        yield sb, b24nb.connect(sb.url, progress=False)


@pytest.fixture(scope="module")
def deals(seeded) -> pd.DataFrame:
    _, portal = seeded
    return b24nb.load_deals(portal, progress=False)


def test_load_deals_types_columns_from_deal_fields(deals):
    assert deals.index.name == "deal_id"
    assert deals.index.dtype == "Int64"
    expected = {"TITLE": "string", "OPPORTUNITY": "float64", "CURRENCY_ID": "string",
                "CONTACT_ID": "Int64", "COMPANY_ID": "Int64", "ASSIGNED_BY_ID": "Int64",
                "STAGE_ID": "string", "DATE_CREATE": "datetime64[ns, UTC]", "CLOSED": "boolean",
                "CATEGORY_ID": "Int64", "DATE_MODIFY": "datetime64[ns, UTC]"}
    assert {c: str(deals[c].dtype) for c in expected} == expected
    for name in CONTACT_COLUMNS:
        assert str(deals[name].dtype) == "string"


def test_load_deals_returns_every_seeded_deal_in_id_order(deals):
    assert deals.index.tolist() == [1, 2, 3, 4, 5]
    assert deals.loc[1, "TITLE"] == "Ноутбук для ООО Ромашка"
    assert math.isclose(deals.loc[1, "OPPORTUNITY"], 19999.99)
    assert bool(deals.loc[2, "CLOSED"]) is True  # bool(pd.NA) raises: NA fails too
    assert bool(deals.loc[1, "CLOSED"]) is False


def test_load_deals_turns_empty_strings_and_nulls_into_na(deals):
    assert pd.isna(deals.loc[2, "TITLE"])
    assert pd.isna(deals.loc[2, "CONTACT_ID"])
    assert pd.isna(deals.loc[2, "COMPANY_ID"])
    assert deals.loc[2, "OPPORTUNITY"] == 0.0  # zero is a value, not "empty"


def test_load_deals_converts_datetimes_to_utc(deals):
    assert deals.loc[1, "DATE_CREATE"] == pd.Timestamp("2025-06-01T07:00:00Z")
    assert deals.loc[3, "DATE_CREATE"] == pd.Timestamp("2025-07-15T20:30:00Z")


def test_load_deals_joins_normalised_contact_details(deals):
    one = deals.loc[1]
    assert one["contact_name"] == "Анна Смирнова"
    assert one["contact_email"] == "anna.smirnova@mail.ru"
    assert one["contact_phone"] == "79161234567"
    three = deals.loc[3]
    assert three["contact_email"] == "b@x.com"
    assert three["contact_emails"] == "b@x.com;b2@x.com"
    assert three["contact_phone"] == "88001002030"
    assert three["contact_phones"] == "88001002030;49301234"
    # the same contact on two deals, fetched once
    assert deals.loc[4, "contact_email"] == "anna.smirnova@mail.ru"


def test_load_deals_leaves_contact_columns_na_without_a_contact(deals):
    for deal_id in (2, 5):  # no contact; a contact id the portal no longer has
        assert deals.loc[deal_id, list(CONTACT_COLUMNS)].isna().all()


def test_load_deals_asks_each_contact_once_in_batches(seeded):
    sb, portal = seeded
    sb.stats.reset()
    b24nb.load_deals(portal, progress=False)
    # three distinct contact ids fit one crm.contact.list command
    assert sb.stats.method_calls["crm.contact.list"] == 1


def test_load_deals_without_contacts_makes_no_contact_requests(seeded):
    sb, portal = seeded
    sb.stats.reset()
    frame = b24nb.load_deals(portal, contacts=False, progress=False)
    assert sb.stats.method_calls["crm.contact.list"] == 0
    assert not set(CONTACT_COLUMNS) & set(frame.columns)


def test_load_deals_honours_select(seeded):
    _, portal = seeded
    frame = b24nb.load_deals(portal, select=["TITLE", "OPPORTUNITY"], contacts=False,
                             progress=False)
    assert list(frame.columns) == ["TITLE", "OPPORTUNITY"]
    assert frame.index.tolist() == [1, 2, 3, 4, 5]


def test_load_deals_accepts_lower_case_names_like_the_server(seeded):
    _, portal = seeded
    frame = b24nb.load_deals(portal, select=["title"], contacts=False, progress=False)
    assert list(frame.columns) == ["TITLE"]
    assert frame.loc[3, "TITLE"] == "Server rack"


def test_load_deals_passes_the_filter_through(seeded):
    _, portal = seeded
    frame = b24nb.load_deals(portal, filter={"CURRENCY_ID": "EUR"}, progress=False)
    assert frame.index.tolist() == [1, 3]
    frame = b24nb.load_deals(portal, filter={">=OPPORTUNITY": 250, "!STAGE_ID": "LOSE"},
                             contacts=False, progress=False)
    assert frame.index.tolist() == [1, 3]


def test_load_deals_rejects_unknown_select_field_before_any_request(seeded):
    sb, portal = seeded
    b24nb.load_deals(portal, contacts=False, progress=False)  # metadata now cached
    before = sb.stats.http_requests
    with pytest.raises(FieldError) as caught:
        b24nb.load_deals(portal, select=["TITLE", "OPPORTUNITTY"], progress=False)
    assert "OPPORTUNITTY" in str(caught.value)
    assert "OPPORTUNITY" in str(caught.value).split("OPPORTUNITTY", 1)[1]
    assert sb.stats.http_requests == before


def test_load_deals_rejects_unknown_filter_field_with_a_prefix(seeded):
    sb, portal = seeded
    sb.stats.reset()
    with pytest.raises(FieldError) as caught:
        b24nb.load_deals(portal, filter={">=DATE_CRATE": "2025-01-01"}, progress=False)
    message = str(caught.value)
    assert "'DATE_CRATE'" in message
    assert "DATE_CREATE" in message
    assert sb.stats.method_calls["crm.deal.list"] == 0


def test_field_error_is_a_key_error_and_lists_every_unknown_name(seeded):
    _, portal = seeded
    with pytest.raises(KeyError) as caught:
        b24nb.load_deals(portal, select=["TITEL"], filter={"CURENCY_ID": "EUR"}, progress=False)
    assert isinstance(caught.value, FieldError)
    assert len(caught.value.problems) == 2


def test_load_deals_with_no_match_has_the_full_typed_shape(seeded):
    _, portal = seeded
    frame = b24nb.load_deals(portal, filter={"CURRENCY_ID": "JPY"}, progress=False)
    assert frame.empty
    assert str(frame["OPPORTUNITY"].dtype) == "float64"
    assert str(frame["DATE_CREATE"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["contact_email"].dtype) == "string"
    assert frame.index.dtype == "Int64"


def test_load_deals_count_equals_the_portals_count_for_the_same_filter(small_sandbox):
    portal = b24nb.connect(small_sandbox.url, progress=False)
    flt = {"CURRENCY_ID": "RUB", ">=OPPORTUNITY": 10000}
    frame = b24nb.load_deals(portal, filter=flt, contacts=False, progress=False)
    total = portal.call_full("crm.deal.list", {"filter": flt, "select": ["ID"]}).total
    assert len(frame) == total > 0
    assert (frame["CURRENCY_ID"] == "RUB").all()
    assert (frame["OPPORTUNITY"] >= 10000).all()


def test_load_deals_stays_within_the_request_budget(small_sandbox):
    portal = b24nb.connect(small_sandbox.url, progress=False)
    small_sandbox.stats.reset()
    deals = b24nb.load_deals(portal, contacts=False, progress=False)
    assert len(deals) == 200
    assert small_sandbox.stats.http_requests <= math.ceil(len(deals) / 2500) + 3
    small_sandbox.stats.reset()
    deals = b24nb.load_deals(portal, progress=False)
    contacts = deals["CONTACT_ID"].nunique()
    budget = math.ceil(len(deals) / 2500) + 3 + math.ceil(contacts / 2500)
    assert small_sandbox.stats.http_requests <= budget
    assert deals["contact_email"].notna().sum() > 0


def test_load_deals_asks_for_field_metadata_once_until_forgotten(seeded):
    from b24nb.load import forget_fields

    sb, portal = seeded
    b24nb.load_deals(portal, contacts=False, progress=False)
    sb.stats.reset()
    b24nb.load_deals(portal, contacts=False, progress=False)
    assert sb.stats.method_calls["crm.deal.fields"] == 0
    forget_fields(portal)
    b24nb.load_deals(portal, contacts=False, progress=False)
    assert sb.stats.method_calls["crm.deal.fields"] == 1


def test_load_deals_resends_contact_lists_refused_by_the_operating_limit():
    from b24nb.limits import ScaledClock
    from b24nb.portal import Portal
    from b24nb.sandbox import Sandbox

    with Sandbox(deals=DEALS, contacts=CONTACTS, demo=False, latency=False,
                 time_scale=100) as sb:
        portal = Portal(sb.url, progress=False, clock=ScaledClock(100, now=sb.clock))
        clean = b24nb.load_deals(portal, progress=False)
        sb.faults.add(method="crm.contact.list", kind="429", p=1.0, seed=1, times=1)
        sb.stats.reset()
        faulty = b24nb.load_deals(portal, progress=False)
        assert sb.stats.refused_429 == 1
    pd.testing.assert_frame_equal(faulty, clean)


def test_load_deals_refuses_contact_pages_that_ignored_the_id_filter(seeded):
    # A portal that dropped the @ID key would answer the first contacts it has; the ones
    # asked for would come out empty without a word. The loader checks what came back.
    from b24nb.errors import PortalError

    _, portal = seeded
    real = portal.batch

    def batch(cmds, *, halt=False):
        for _, params in cmds.values():
            params.get("filter", {}).pop("@ID", None)
        return real(cmds, halt=halt)

    portal.batch = batch
    try:
        with pytest.raises(PortalError, match="@ID filter was not applied"):
            b24nb.load_deals(portal, filter={"CONTACT_ID": 11}, progress=False)
    finally:
        del portal.batch


def test_load_deals_asks_for_50_contacts_per_command_and_50_commands_per_request():
    from b24nb.sandbox import Sandbox

    contacts = [{"ID": i, "NAME": f"c{i}", "EMAIL": [{"VALUE": f"c{i}@x.org"}]}
                for i in range(1, 2601)]
    deals = [{"ID": i, "TITLE": f"d{i}", "CONTACT_ID": (i - 1) % 2600 + 1, "OPPORTUNITY": 1.0,
              "CURRENCY_ID": "RUB"} for i in range(1, 5201)]
    with Sandbox(deals=deals, contacts=contacts, demo=False, limits=False,
                 latency=False) as sb:
        portal = b24nb.connect(sb.url, progress=False)
        frame = b24nb.load_deals(portal, contacts=False, progress=False)  # fields cached
        sb.stats.reset()
        frame = b24nb.load_deals(portal, progress=False)
        calls = dict(sb.stats.method_calls)
        requests = sb.stats.http_requests
    assert frame["contact_email"].notna().all()
    assert frame.loc[2601, "contact_email"] == "c1@x.org"
    assert calls["crm.contact.list"] == 52  # 2,600 distinct ids / 50 per command
    # the deals' walk (probe, the batches, at most one spare batch that cuts the others
    # shorter: load_deals' budget of ⌈N/2500⌉ + 3 less the cached fields call) and two
    # contact requests (50 + 2 commands)
    assert requests <= math.ceil(5200 / 2500) + 2 + math.ceil(52 / 50)
