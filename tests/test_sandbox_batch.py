"""``batch`` over real HTTP: sections, references with the partial-path rule, halt, limits."""

from __future__ import annotations

import pytest

from b24nb.testing import call, tiny_sandbox


@pytest.fixture
def sb():
    with tiny_sandbox() as portal:
        yield portal


def _batch(sb, cmd, halt=False):
    r = call(sb.url, "batch", {"halt": halt, "cmd": cmd})
    assert r.status_code == 200  # the outer request is 200 even when commands fail
    return r.json()


def test_batch_sections_keyed_by_command(sb):
    body = _batch(sb, {"deals": "crm.deal.list?select[]=ID&start=0",
                       "one": "crm.deal.get?id=3"})
    res = body["result"]
    assert len(res["result"]["deals"]) == 50
    assert res["result"]["one"]["ID"] == "3"
    assert res["result_total"] == {"deals": 120}
    assert res["result_next"] == {"deals": 50}
    assert set(res["result_time"]) == {"deals", "one"}
    assert res["result_error"] == []  # empty sections are JSON [] like PHP
    assert "time" in body


def test_batch_with_list_cmd_returns_lists(sb):
    body = _batch(sb, ["crm.deal.get?id=1", "crm.deal.get?id=2"])
    assert [d["ID"] for d in body["result"]["result"]] == ["1", "2"]


def test_batch_result_reference_chains_an_id_walk(sb):
    body = _batch(sb, {
        "a": "crm.deal.list?order[ID]=ASC&filter[>ID]=0&select[]=ID&start=-1",
        "b": "crm.deal.list?order[ID]=ASC&filter[>ID]=$result[a][49][ID]&select[]=ID&start=-1",
        "c": "crm.deal.list?order[ID]=ASC&filter[>ID]=$result[b][49][ID]&select[]=ID&start=-1",
    })
    res = body["result"]["result"]
    assert res["b"][0]["ID"] == "51"
    assert [r["ID"] for r in res["c"]][-1] == "120"
    assert len(res["c"]) == 20


def test_batch_reference_partial_path_substitutes_the_last_level_reached(sb):
    # c has only 20 rows: [49] is missing, so the whole page (an array) is substituted,
    # and (int)array == 1 → the next command filters ID > 1.
    body = _batch(sb, {
        "c": "crm.deal.list?order[ID]=ASC&filter[>ID]=100&select[]=ID&start=-1",
        "d": "crm.deal.list?order[ID]=ASC&filter[>ID]=$result[c][49][ID]&select[]=ID&start=-1",
    })
    assert body["result"]["result"]["d"][0]["ID"] == "2"


def test_batch_reference_inside_text_is_string_replaced(sb):
    body = _batch(sb, {"a": "crm.deal.get?id=7",
                       "b": "crm.deal.list?filter[%TITLE]=Deal $result[a][ID]&select[]=ID"})
    assert [r["ID"] for r in body["result"]["result"]["b"]] == ["7", "70", "71", "72", "73",
                                                                 "74", "75", "76", "77", "78",
                                                                 "79"]


def test_batch_next_and_total_references(sb):
    body = _batch(sb, {"a": "crm.deal.list?select[]=ID",
                       "b": "crm.deal.list?select[]=ID&start=$next[a]",
                       "c": "crm.deal.get?id=$total[a]"})
    res = body["result"]["result"]
    assert res["b"][0]["ID"] == "51"
    assert res["c"]["ID"] == "120"


def test_batch_errors_stay_per_command_without_halt(sb):
    body = _batch(sb, {"bad": "crm.deal.get?id=0", "missing": "no.such.method",
                       "good": "crm.deal.get?id=1"})
    res = body["result"]
    assert res["result_error"]["bad"]["error_description"] == "ID is not defined or invalid."
    assert res["result_error"]["missing"]["error"] == "ERROR_METHOD_NOT_FOUND"
    assert res["result"] == {"good": res["result"]["good"]}


def test_batch_halt_stops_after_first_error(sb):
    body = _batch(sb, {"a": "crm.deal.get?id=1", "bad": "crm.deal.get?id=0",
                       "never": "crm.deal.get?id=2"}, halt=True)
    res = body["result"]
    assert list(res["result"]) == ["a"]
    assert list(res["result_error"]) == ["bad"]
    assert "never" not in res["result_time"]


def test_batch_halt_string_false_counts_as_true_like_php(sb):
    r = call(sb.url, "batch", {"halt": "false", "cmd": {"bad": "crm.deal.get?id=0",
                                                       "never": "crm.deal.get?id=2"}})
    assert r.json()["result"]["result"] == []


def test_batch_over_50_commands_errors_each_extra_command(sb):
    cmd = {f"c{i}": f"crm.deal.get?id={i + 1}" for i in range(53)}
    res = _batch(sb, cmd)["result"]
    assert len(res["result"]) == 50
    assert set(res["result_error"]) == {"c50", "c51", "c52"}
    assert res["result_error"]["c50"] == {"error": "ERROR_BATCH_LENGTH_EXCEEDED",
                                          "error_description": "Max batch length exceeded"}
    assert sb.stats.method_calls["crm.deal.get"] == 50


def test_nested_batch_is_not_allowed(sb):
    res = _batch(sb, {"x": "batch?cmd[a]=profile"})["result"]
    assert res["result_error"]["x"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"


def test_batch_commands_are_counted_as_method_calls(sb):
    sb.stats.reset()
    _batch(sb, {"a": "crm.deal.get?id=1", "b": "sale.order.get?id=1"})
    assert sb.stats.http_requests == 1
    assert sb.stats.method_calls["batch"] == 1
    assert sb.stats.method_calls["crm.deal.get"] == 1
    assert sb.stats.method_calls["sale.order.get"] == 1


def test_batch_sale_list_reference_through_wrapper(sb):
    body = _batch(sb, {
        "a": "sale.order.list?select[]=id&order[id]=ASC&filter[>id]=0&start=-1",
        "b": "sale.order.list?select[]=id&order[id]=ASC&filter[>id]=$result[a][orders][49][id]"
             "&start=-1"})
    assert [o["id"] for o in body["result"]["result"]["b"]["orders"]] == list(range(51, 61))
