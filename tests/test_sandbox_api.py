"""The sandbox's methods over real HTTP: shapes, value types, paging, filters, errors."""

from __future__ import annotations

import pytest
import requests

from b24nb.sandbox import Sandbox
from b24nb.testing import call, tiny_records, tiny_sandbox


@pytest.fixture
def sb():
    with tiny_sandbox() as portal:
        yield portal


# ---------------------------------------------------------------- envelope and auth


def test_success_envelope_has_result_and_time_object(sb):
    body = call(sb.url, "profile").json()
    assert body["result"]["ID"] == "1"
    t = body["time"]
    for key in ("start", "finish", "duration", "processing", "date_start", "date_finish",
                "operating"):
        assert key in t
    assert t["finish"] >= t["start"]
    assert t["date_start"].endswith("+03:00")


def test_method_suffix_json_and_case_are_ignored(sb):
    a = call(sb.url, "CRM.Deal.Get.json", {"id": 3})
    assert a.status_code == 200
    assert a.json()["result"]["ID"] == "3"


def test_wrong_webhook_secret_is_invalid_credentials(sb):
    bad = sb.url.replace("/rest/1/", "/rest/1/x")
    r = call(bad, "profile")
    assert r.status_code == 401
    assert r.json() == {"error": "INVALID_CREDENTIALS",
                        "error_description": "Invalid request credentials"}
    assert "time" not in r.json()


def test_unknown_method_is_404_method_not_found(sb):
    r = call(sb.url, "crm.deal.frobnicate")
    assert r.status_code == 404
    assert r.json()["error"] == "ERROR_METHOD_NOT_FOUND"


def test_malformed_json_body_is_treated_as_empty(sb):
    r = requests.post(sb.url + "crm.orderentity.add", data=b"{not json",
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400
    assert r.json() == {"error": "0",
                        "error_description": "Required fields: ownerId, ownerTypeId, orderId"}


def test_form_encoded_and_query_string_params_are_accepted(sb):
    r = requests.post(sb.url + "crm.deal.list?select[]=ID",
                      data={"filter[>ID]": "115", "start": "-1"}, timeout=10)
    assert [row["ID"] for row in r.json()["result"]] == ["116", "117", "118", "119", "120"]


def test_oauth_request_without_token_is_no_auth_found(sb):
    base = sb.url.split("/rest/")[0]
    r = requests.post(base + "/rest/profile.json", json={}, timeout=10)
    assert r.status_code == 401
    assert r.json()["error"] == "NO_AUTH_FOUND"


# ---------------------------------------------------------------- crm.deal.*


def test_deal_list_values_are_strings_and_refs_null(sb):
    body = call(sb.url, "crm.deal.list", {"filter": {"ID": 10}}).json()
    deal = body["result"][0]
    assert deal["ID"] == "10"
    assert deal["OPPORTUNITY"] == "1000.00"
    assert deal["CONTACT_ID"] == "2"
    assert deal["COMPANY_ID"] == "1"
    assert deal["LEAD_ID"] is None
    assert deal["DATE_CREATE"] == "2025-01-10T10:00:00+03:00"
    assert "PHONE" not in deal


def test_deal_list_pages_of_50_with_next_and_total(sb):
    first = call(sb.url, "crm.deal.list").json()
    assert len(first["result"]) == 50
    assert (first["next"], first["total"]) == (50, 120)
    last = call(sb.url, "crm.deal.list", {"start": 100}).json()
    assert len(last["result"]) == 20
    assert "next" not in last
    assert last["total"] == 120


def test_deal_list_start_is_rounded_down_to_a_page(sb):
    body = call(sb.url, "crm.deal.list", {"start": 73}).json()
    assert body["result"][0]["ID"] == "51"
    assert body["next"] == 100


def test_deal_list_start_minus_one_skips_count_and_next(sb):
    body = call(sb.url, "crm.deal.list",
                {"start": -1, "order": {"ID": "ASC"}, "filter": {">ID": 60}}).json()
    assert [r["ID"] for r in body["result"]][:2] == ["61", "62"]
    assert len(body["result"]) == 50
    assert "next" not in body
    assert body["total"] == 0


def test_deal_list_select_returns_only_selected_plus_id(sb):
    body = call(sb.url, "crm.deal.list",
                {"select": ["TITLE", "NOPE"], "filter": {"ID": 1}}).json()
    assert body["result"] == [{"ID": "1", "TITLE": "Deal 1"}]


@pytest.mark.parametrize(("flt", "expected"), [
    ({">ID": 117}, [118, 119, 120]),
    ({">=ID": 118}, [118, 119, 120]),
    ({"<ID": 3}, [1, 2]),
    ({"<=ID": 2}, [1, 2]),
    ({"=ID": 7}, [7]),
    ({"@ID": [3, 5, 999]}, [3, 5]),
    ({"ID": [4, 6]}, [4, 6]),
    ({"!@ID": list(range(1, 119))}, [119, 120]),
    ({"!STAGE_ID": "NEW", "<ID": 16}, [5, 10, 15]),
    ({"%TITLE": "eal 11", "<ID": 115}, [11, 110, 111, 112, 113, 114]),
    ({"CURRENCY_ID": "USD", ">OPPORTUNITY": 11500}, [117, 119]),
    ({">=DATE_CREATE": "2025-04-29", "<DATE_CREATE": "2025-05-01"}, [119, 120]),
    ({"ID": "abc"}, []),
    ({"UNKNOWN_FIELD": 5, ">ID": 119}, [120]),
])
def test_deal_list_filter_prefixes(sb, flt, expected):
    body = call(sb.url, "crm.deal.list",
                {"filter": flt, "select": ["ID"], "order": {"ID": "ASC"}}).json()
    assert [int(r["ID"]) for r in body["result"]] == expected


def test_deal_list_order_desc_by_amount(sb):
    body = call(sb.url, "crm.deal.list",
                {"order": {"OPPORTUNITY": "DESC"}, "select": ["ID"], "start": -1}).json()
    assert body["result"][0]["ID"] == "120"


def test_deal_list_filter_must_be_array(sb):
    r = call(sb.url, "crm.deal.list", {"filter": "ID=1"})
    assert r.status_code == 400
    assert r.json() == {"error": "", "error_description": "Parameter 'filter' must be array."}


def test_deal_get_casts_non_integer_id_like_php(sb):
    assert call(sb.url, "crm.deal.get", {"id": "12abc"}).json()["result"]["ID"] == "12"
    r = call(sb.url, "crm.deal.get", {"id": "abc"})
    assert r.status_code == 400
    assert r.json() == {"error": "", "error_description": "ID is not defined or invalid."}


def test_deal_get_missing_is_not_found(sb):
    r = call(sb.url, "crm.deal.get", {"id": 99999})
    assert r.status_code == 400
    assert r.json()["error_description"] == "Not found"


def test_deal_fields_describe_types(sb):
    fields = call(sb.url, "crm.deal.fields").json()["result"]
    assert fields["OPPORTUNITY"]["type"] == "double"
    assert fields["DATE_CREATE"]["type"] == "datetime"
    assert fields["STAGE_ID"]["statusType"] == "DEAL_STAGE"
    assert fields["ID"]["isReadOnly"] is True


def test_deal_add_returns_new_integer_id_with_defaults(sb):
    r = call(sb.url, "crm.deal.add",
             {"fields": {"TITLE": "New", "OPPORTUNITY": "12.5", "ID": 5}})
    new_id = r.json()["result"]
    assert new_id == 121
    deal = call(sb.url, "crm.deal.get", {"id": new_id}).json()["result"]
    assert (deal["TITLE"], deal["OPPORTUNITY"], deal["STAGE_ID"]) == ("New", "12.50", "NEW")
    assert call(sb.url, "crm.deal.add", {}).status_code == 400


# ---------------------------------------------------------------- crm.contact.*


def test_contact_multifields_only_when_selected(sb):
    plain = call(sb.url, "crm.contact.list", {"filter": {"ID": 2}}).json()["result"][0]
    assert "EMAIL" not in plain
    assert plain["HAS_EMAIL"] == "Y"
    full = call(sb.url, "crm.contact.list",
                {"filter": {"ID": 2}, "select": ["*", "EMAIL", "PHONE"]}).json()["result"][0]
    assert [e["VALUE"] for e in full["EMAIL"]] == ["anna@example.com", "a.smith@work.com"]
    assert full["EMAIL"][0]["TYPE_ID"] == "EMAIL"
    assert "PHONE" not in full  # contact 2 has no phone


def test_contact_get_includes_phone_and_email(sb):
    c = call(sb.url, "crm.contact.get", {"id": 1}).json()["result"]
    assert c["NAME"] == "Иван"
    assert c["PHONE"][0]["VALUE"] == "+7 (900) 111-22-33"
    assert c["EMAIL"][0]["VALUE"] == "ivan@example.ru"


def test_contact_list_filters_on_multifield(sb):
    body = call(sb.url, "crm.contact.list",
                {"filter": {"EMAIL": "a.smith@work.com"}, "select": ["ID"]}).json()
    assert body["result"] == [{"ID": "2"}]


# ---------------------------------------------------------------- sale.*


def test_order_list_is_typed_camelcase_under_orders(sb):
    body = call(sb.url, "sale.order.list", {"filter": {"id": 2}}).json()
    order = body["result"]["orders"][0]
    assert order["id"] == 2
    assert order["price"] == 200
    assert order["payed"] == "Y"
    assert order["accountNumber"] == "A-0002"
    assert list(order) == sorted(order)
    assert body["total"] == 1


def test_order_list_paging_and_start_minus_one(sb):
    first = call(sb.url, "sale.order.list", {"select": ["id"]}).json()
    assert (len(first["result"]["orders"]), first["next"], first["total"]) == (50, 50, 60)
    fast = call(sb.url, "sale.order.list",
                {"select": ["id"], "start": -1, "filter": {">id": 55}}).json()
    assert [o["id"] for o in fast["result"]["orders"]] == [56, 57, 58, 59, 60]
    assert "total" not in fast
    assert "next" not in fast


def test_order_get_has_clients_and_property_values(sb):
    order = call(sb.url, "sale.order.get", {"id": 4}).json()["result"]["order"]
    assert order["clients"][0]["entityTypeId"] == 3
    assert order["clients"][0]["entityId"] == 2
    props = {p["code"]: p["value"] for p in order["propertyValues"]}
    assert props == {"NAME": "Customer 4", "EMAIL": "c4@example.org", "PHONE": "+7 900 000 0004"}


def test_order_get_unknown_is_order_not_exists(sb):
    r = call(sb.url, "sale.order.get", {"id": "nope"})
    assert r.status_code == 400
    assert r.json() == {"error": 200540400001, "error_description": "order is not exists"}


def test_propertyvalue_list_filters_by_order(sb):
    body = call(sb.url, "sale.propertyvalue.list", {"filter": {"orderId": 7}}).json()
    values = body["result"]["propertyValues"]
    assert {v["code"] for v in values} == {"NAME", "EMAIL", "PHONE"}
    assert all(v["orderId"] == 7 for v in values)


def test_order_add_creates_and_binds_an_auto_deal(sb):
    r = call(sb.url, "sale.order.add", {"fields": {
        "lid": "s1", "personTypeId": 1, "currency": "RUB", "price": 990,
        "properties": {"NAME": "Пётр Первый", "EMAIL": "p@x.ru"}}})
    order = r.json()["result"]["order"]
    assert order["id"] == 61
    owner = next(b for b in sb.bindings() if b["orderId"] == 61)
    deal = call(sb.url, "crm.deal.get", {"id": owner["ownerId"]}).json()["result"]
    assert deal["TITLE"] == f"Заказ №{order['accountNumber']}"
    contact = call(sb.url, "crm.contact.get", {"id": deal["CONTACT_ID"]}).json()
    assert contact["result"]["EMAIL"][0]["VALUE"] == "p@x.ru"


def test_order_add_requires_fields(sb):
    r = call(sb.url, "sale.order.add", {"fields": {"lid": "s1"}})
    assert r.status_code == 400
    assert r.json()["error_description"] == "Required fields: personTypeId, currency"


# ---------------------------------------------------------------- crm.orderentity.*


def test_orderentity_add_returns_deal_order_sorted_ints(sb):
    r = call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": "20", "ownerTypeId": 2, "ownerId": 7}})
    assert r.json()["result"] == {"dealOrder": {"orderId": 20, "ownerId": 7, "ownerTypeId": 2}}
    assert {"orderId": 20, "ownerId": 7, "ownerTypeId": 2} in sb.bindings()


def test_orderentity_add_second_owner_replaces_first_silently(sb):
    r = call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": 1, "ownerTypeId": 2, "ownerId": 99}})
    assert r.status_code == 200
    owners = [b for b in sb.bindings() if b["orderId"] == 1]
    assert owners == [{"orderId": 1, "ownerId": 99, "ownerTypeId": 2}]


def test_orderentity_add_exact_duplicate_is_201650000001(sb):
    r = call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": 1, "ownerTypeId": 2, "ownerId": 1}})
    assert r.status_code == 400
    assert r.json()["error"] == "201650000001"


def test_orderentity_add_missing_order_is_200540400001(sb):
    r = call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": 5000, "ownerTypeId": 2, "ownerId": 1}})
    assert r.json() == {"error": "200540400001", "error_description": "order is not exists"}


def test_orderentity_add_does_not_check_the_owner(sb):
    r = call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": 30, "ownerTypeId": 777, "ownerId": 424242}})
    assert r.status_code == 200


def test_orderentity_add_missing_fields_is_code_zero(sb):
    r = call(sb.url, "crm.orderentity.add", {"fields": {"ownerTypeId": 2}})
    assert r.json() == {"error": "0", "error_description": "Required fields: ownerId, orderId"}


def test_orderentity_list_filters_and_drops_unknown_select(sb):
    body = call(sb.url, "crm.orderentity.list",
                {"filter": {"ownerId": 3, "ownerTypeId": 2}, "select": ["*"]}).json()
    assert body["result"] == {"orderEntity": [{"orderId": 3, "ownerId": 3, "ownerTypeId": 2}]}
    assert body["total"] == 1


def test_orderentity_list_in_filter_is_cast_to_int_one(sb):
    # (int) of an array is 1 on the server: "@orderId" selects order 1, not the list
    body = call(sb.url, "crm.orderentity.list", {"filter": {"@orderId": [4, 5]}}).json()
    assert [b["orderId"] for b in body["result"]["orderEntity"]] == [1]


def test_orderentity_delete_by_filter(sb):
    url = sb.url
    wrong = call(url, "crm.orderentity.deleteByFilter",
                 {"fields": {"orderId": 2, "ownerTypeId": 2, "ownerId": 3}})
    assert wrong.json()["error"] == "201640400004"
    ok = call(url, "crm.orderentity.deleteByFilter",
              {"fields": {"orderId": 2, "ownerTypeId": 2, "ownerId": 2}})
    assert ok.json()["result"] is True
    assert all(b["orderId"] != 2 for b in sb.bindings())


def test_orderentity_get_fields(sb):
    body = call(sb.url, "crm.orderentity.getFields").json()
    assert set(body["result"]["orderEntity"]) == {"orderId", "ownerId", "ownerTypeId"}
    assert body["result"]["orderEntity"]["orderId"]["isRequired"] is True


# ---------------------------------------------------------------- seeding


def test_missing_seed_fields_get_defaults():
    with Sandbox(demo=False, limits=False, latency=False, deals=[{"TITLE": "only title"}],
                 orders=[{"price": 5}]) as sb:
        deal = call(sb.url, "crm.deal.get", {"id": 1}).json()["result"]
        assert (deal["STAGE_ID"], deal["CURRENCY_ID"], deal["OPENED"]) == ("NEW", "RUB", "Y")
        order = call(sb.url, "sale.order.get", {"id": 1}).json()["result"]["order"]
        assert (order["accountNumber"], order["payed"], order["lid"]) == ("1", "N", "s1")


def test_demo_data_loads_and_truth_stays_out_of_the_api():
    with Sandbox(seed=3, n_deals=100, n_orders=120, limits=False, latency=False) as sb:
        counts = sb.counts()
        assert counts["deals"] >= 100
        assert counts["orders"] == 120
        assert sb.truth
        assert all(isinstance(k, int) and isinstance(v, int) for k, v in sb.truth.items())
        assert "secret" not in repr(sb)
        assert sb._secret not in repr(sb)


def test_records_fixture_is_consistent():
    rec = tiny_records()
    assert len(rec["deals"]) == 120
    assert len(rec["orders"]) == 60


# ---------------------------------------------------------------- extras used by the client


def test_order_get_fields_wraps_metadata_under_order(sb):
    fields = call(sb.url, "sale.order.getFields").json()["result"]["order"]
    assert fields["price"]["type"] == "double"
    assert fields["id"]["type"] == "integer"
    assert fields["dateInsert"]["type"] == "datetime"
    assert fields["lid"]["isRequired"] is True


def test_item_list_serves_deals_typed_in_camelcase(sb):
    body = call(sb.url, "crm.item.list", {"entityTypeId": 2, "filter": {">opportunity": 11800},
                                          "select": ["id", "opportunity", "contactId"]}).json()
    assert body["result"]["items"] == [
        {"id": 119, "opportunity": 11900, "contactId": 3, "contactIds": [3]},
        {"id": 120, "opportunity": 12000, "contactId": 1, "contactIds": [1]}]
    assert body["total"] == 2
    fast = call(sb.url, "crm.item.list", {"entityTypeId": 2, "start": -1,
                                          "filter": {">id": 100}, "order": {"id": "ASC"}}).json()
    assert fast["result"]["items"][0]["createdTime"] == "2025-04-11T10:00:00+03:00"
    assert "total" not in fast


def test_item_list_needs_a_known_entity_type(sb):
    r = call(sb.url, "crm.item.list", {"entityTypeId": 999})
    assert r.status_code == 400
    assert r.json()["error"] == "NOT_FOUND"


def test_item_get_returns_one_deal(sb):
    item = call(sb.url, "crm.item.get", {"entityTypeId": 2, "id": 5}).json()["result"]["item"]
    assert (item["id"], item["title"], item["stageId"]) == (5, "Deal 5", "WON")


def test_deal_list_order_given_as_a_list_is_an_array_with_no_known_keys(sb):
    body = call(sb.url, "crm.deal.list", {"order": ["ID"], "select": ["ID"], "start": -1}).json()
    assert body["result"][0]["ID"] == "1"


def test_stopped_sandbox_drops_kept_alive_connections():
    s = requests.Session()
    with tiny_sandbox() as portal:
        url = portal.url
        assert call(url, "profile", session=s).status_code == 200
    with pytest.raises(requests.ConnectionError):
        call(url, "profile", session=s, timeout=3)


def test_company_list_and_get_with_phone(sb):
    body = call(sb.url, "crm.company.list", {"select": ["ID", "TITLE", "PHONE"]}).json()
    assert body["result"][0] == {"ID": "1", "TITLE": "ООО Ромашка", "PHONE": [
        {"ID": body["result"][0]["PHONE"][0]["ID"], "VALUE_TYPE": "WORK",
         "VALUE": "+7 495 000-00-00", "TYPE_ID": "PHONE"}]}
    assert call(sb.url, "crm.company.get", {"id": 2}).json()["result"]["TITLE"] == "Acme Ltd"


def test_contact_add_stores_multifields(sb):
    new_id = call(sb.url, "crm.contact.add", {"fields": {
        "NAME": "Вера", "PHONE": [{"VALUE": "+7 999 123-45-67", "VALUE_TYPE": "MOBILE"}]}}
    ).json()["result"]
    contact = call(sb.url, "crm.contact.get", {"id": new_id}).json()["result"]
    assert contact["PHONE"][0]["VALUE_TYPE"] == "MOBILE"
    assert contact["HAS_PHONE"] == "Y"


def test_sandbox_imports_nothing_from_the_client():
    import subprocess
    import sys

    code = ("import sys\nfrom b24nb.sandbox import Sandbox\n"
            "with Sandbox(n_deals=30, n_orders=30, limits=False, latency=False):\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('b24nb.')"
            " and not m.startswith('b24nb.sandbox')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.strip()
    assert out == "[]"


def test_latency_off_makes_every_write_free_and_immediate():
    """``latency=False`` zeroes every cost, the bindings' 0.33 s included: a batch of 50 adds
    reports no server time at all (before, one cost field kept its default)."""
    from b24nb.sandbox import Sandbox
    from b24nb.testing import call

    deals = [{"ID": i, "TITLE": f"D{i}"} for i in range(1, 51)]
    orders = [{"id": i, "accountNumber": f"A-{i}", "price": 1.0} for i in range(1, 51)]
    with Sandbox(demo=False, deals=deals, orders=orders, latency=False) as sb:
        cmd = {f"w{i}": f"crm.orderentity.add?fields[orderId]={i}&fields[ownerId]={i}"
                        f"&fields[ownerTypeId]=2" for i in range(1, 51)}
        body = call(sb.url, "batch", {"cmd": cmd}).json()
        assert len(body["result"]["result"]) == 50
        times = body["result"]["result_time"].values()
        assert max(t["processing"] for t in times) < 0.05
        assert body["time"].get("operating", 0) == 0
