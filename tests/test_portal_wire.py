"""The wire format: batch command strings, envelopes, read/write classification, URL rules."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from b24nb.errors import (
    AuthError,
    DuplicateBindingError,
    NetworkError,
    OperationTimeLimitError,
    QueryLimitError,
    ServerError,
    ValidationError,
)
from b24nb.transport import check_url
from b24nb.wire import encode_command, is_write, normalize_section, parse_answer, php_query


@pytest.mark.parametrize(
    ("method", "write"),
    [
        ("crm.deal.list", False),
        ("crm.orderentity.getFields", False),
        ("crm.deal.fields", False),
        ("sale.order.get", False),
        ("profile", False),
        ("crm.orderentity.add", True),
        ("crm.orderentity.deleteByFilter", True),
        ("crm.deal.update", True),
        ("sale.order.add", True),
    ],
)
def test_is_write_classifies_methods(method, write):
    assert is_write(method) is write


def test_php_query_nests_like_parse_str_reads_it():
    q = php_query({"filter": {">ID": 5, "@STAGE_ID": ["NEW", "WON"]}, "select": ["ID"],
                   "start": -1, "flag": True, "none": None})
    parsed = parse_qs(q, keep_blank_values=True)
    assert parsed["filter[>ID]"] == ["5"]
    assert parsed["filter[@STAGE_ID][0]"] == ["NEW"]
    assert parsed["filter[@STAGE_ID][1]"] == ["WON"]
    assert parsed["select[0]"] == ["ID"]
    assert parsed["start"] == ["-1"]
    assert parsed["flag"] == ["1"]
    assert parsed["none"] == [""]  # never the string "None"


def test_encode_command_keeps_result_references_readable():
    cmd = encode_command("crm.deal.list", {"filter": {">ID": "$result[p0][49][ID]"}})
    assert cmd.startswith("crm.deal.list?")
    assert "$result[p0][49][ID]" in cmd


def test_encode_command_escapes_ampersands_in_values():
    cmd = encode_command("crm.deal.list", {"filter": {"TITLE": "A&B=C"}})
    assert parse_qs(cmd.split("?", 1)[1])["filter[TITLE]"] == ["A&B=C"]


def test_normalize_section_handles_php_empty_array_and_list():
    assert normalize_section([]) == {}
    assert normalize_section(["a", "b"]) == {"0": "a", "1": "b"}
    assert normalize_section({"x": 1}) == {"x": 1}
    assert normalize_section(None) == {}


def test_parse_answer_maps_error_envelopes_and_statuses():
    with pytest.raises(QueryLimitError):
        parse_answer(503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many"}, "m")
    with pytest.raises(OperationTimeLimitError):
        parse_answer(429, {"error": "OPERATION_TIME_LIMIT"}, "m")
    with pytest.raises(AuthError):
        parse_answer(401, {"error": "INVALID_CREDENTIALS"}, "m")
    with pytest.raises(ServerError) as e500:
        parse_answer(500, None, "crm.deal.list")  # an HTML error page
    assert e500.value.status == 500
    assert e500.value.method == "crm.deal.list"
    with pytest.raises(NetworkError):
        parse_answer(200, None, "m")
    assert parse_answer(200, {"result": [1], "time": {}}, "m")["result"] == [1]


def test_both_documented_order_not_found_codes_mean_order_not_found():
    from b24nb.errors import OrderNotFoundError

    for code in (200540400001, "201240400001"):
        with pytest.raises(OrderNotFoundError):
            parse_answer(400, {"error": code, "error_description": "no order"}, "sale.order.get")


def test_error_codes_compare_as_strings():
    with pytest.raises(DuplicateBindingError) as exc:
        parse_answer(400, {"error": 201650000001, "error_description": "Duplicate"}, "m")
    assert exc.value.code == "201650000001"


@pytest.mark.parametrize(
    "url",
    ["https://x.bitrix24.com/rest/1/abc/", "http://127.0.0.1:8080/rest/1/abc/",
     "http://localhost/rest/1/abc/", "http://[::1]:9/rest/1/abc/"],
)
def test_check_url_allows_https_and_loopback_http(url):
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url", ["http://x.bitrix24.com/rest/1/supersecret1/", "ftp://x/rest/1/a/", "x.bitrix24.com"]
)
def test_check_url_refuses_plain_http_off_loopback_without_showing_the_secret(url):
    with pytest.raises(ValidationError) as exc:
        check_url(url)
    assert "supersecret1" not in str(exc.value)
