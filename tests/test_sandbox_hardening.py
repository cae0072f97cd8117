"""The sandbox as a server: whatever arrives gets a Bitrix-style answer, never a traceback.

Raw sockets play the odd clients (HTTP/0.9, a lying Content-Length, a half-open connection);
``requests`` plays the normal ones. stderr must stay free of tracebacks throughout.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest
import requests

from b24nb.testing import call, tiny_sandbox


@pytest.fixture
def sb():
    with tiny_sandbox() as s:
        yield s


def raw(sb, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection; return everything the server answers."""
    with socket.create_connection(("127.0.0.1", sb.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def path(sb, method: str) -> str:
    return sb.url.split(str(sb.port), 1)[1] + method


def answer(data: bytes) -> tuple[int, dict]:
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, json.loads(body)


@pytest.fixture(autouse=True)
def no_tracebacks(capfd, caplog):
    caplog.set_level(logging.DEBUG, logger="b24nb.sandbox")
    yield
    assert "Traceback" not in capfd.readouterr().err
    assert not [r for r in caplog.records if r.exc_info]


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(sb):
    head = (f"POST {path(sb, 'profile')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            f"\r\nContent-Length: {300 * 1024 * 1024}\r\n\r\n").encode()
    t = time.monotonic()
    status, body = answer(raw(sb, head + b"{"))  # 300 MB announced, one byte sent
    assert status == 413
    assert body["error"] == "REQUEST_ENTITY_TOO_LARGE"
    assert time.monotonic() - t < 3  # answered at once, not after reading 300 MB
    assert call(sb.url, "profile").status_code == 200  # the server serves on


@pytest.mark.parametrize("length", ["abc", "-5", "12, 13", "1e3"])
def test_a_bad_content_length_gets_a_400_json_error(sb, length):
    data = (f"POST {path(sb, 'profile')} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
            "\r\n{}").encode()
    status, body = answer(raw(sb, data))
    assert status == 400
    assert body == {"error": "BAD_REQUEST", "error_description": "Invalid Content-Length"}


def test_http_0_9_is_refused_at_once(sb):
    t = time.monotonic()
    data = raw(sb, f"GET {path(sb, 'profile')}\r\n".encode(), timeout=10)
    assert time.monotonic() - t < 3  # not left hanging for headers that never come
    status, body = answer(data)
    assert status == 400
    assert body["error"] == "BAD_REQUEST"


def test_idle_and_half_open_connections_are_closed_and_free_their_threads(sb):
    sb._server.idle_timeout = 0.5
    before = threading.active_count()
    socks = [socket.create_connection(("127.0.0.1", sb.port)) for _ in range(100)]
    try:
        for s in socks[:50]:  # half of them start a request and stop mid-headers
            s.sendall(f"POST {path(sb, 'profile')} HTTP/1.1\r\nHost:".encode())
        time.sleep(0.3)
        assert threading.active_count() >= before + 50  # a thread per connection meanwhile
        time.sleep(1.5)
        assert threading.active_count() <= before + 2
        for s in socks[:3]:
            s.settimeout(2)
            assert s.recv(100) == b""  # closed by the server
    finally:
        for s in socks:
            s.close()
    assert call(sb.url, "profile").status_code == 200


def test_a_body_that_stops_short_of_its_length_times_out_without_a_traceback(sb):
    sb._server.idle_timeout = 0.5
    data = (f"POST {path(sb, 'profile')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            "\r\nContent-Length: 100\r\n\r\n{\"a\":").encode()
    assert raw(sb, data, timeout=5) == b""  # the server gave up on it and closed


def test_deeply_nested_json_reads_as_an_empty_body_like_json_decode(sb):
    deep = "[" * 100_000 + "]" * 100_000
    r = requests.post(sb.url + "profile", data=deep,
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 200
    assert "result" in r.json()
    nested = {"filter": {}}
    node = nested["filter"]
    for _ in range(600):  # deeper than json_decode's 512: the whole body reads as empty
        node["x"] = {}
        node = node["x"]
    r = call(sb.url, "crm.deal.list", nested)
    assert r.status_code == 200
    assert len(r.json()["result"]) == 50  # no filter applied: the first page


def test_deeply_nested_form_variables_are_dropped_like_php(sb):
    key = "filter" + "[a]" * 5000
    r = requests.post(sb.url + "crm.deal.list", data=f"{key}=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"},
                      timeout=10)
    assert r.status_code == 200
    q = requests.get(sb.url + "crm.deal.list?" + "select" + "[0]" * 3000 + "=ID", timeout=10)
    assert q.status_code == 200


@pytest.mark.parametrize("value", [10**30, "99999999999999999999999", -(10**25), 2**63])
def test_huge_ids_are_cast_like_php_not_crashing(sb, value):
    r = call(sb.url, "crm.deal.get", {"id": value})
    assert r.status_code in (200, 400)
    assert "result" in r.json() or "error_description" in r.json()  # a portal's answer
    r = call(sb.url, "crm.orderentity.list", {"filter": {">orderId": value}})
    assert r.status_code == 200
    r = call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": value, "ownerId": value, "ownerTypeId": 2}})
    assert r.status_code in (200, 400)
    assert r.json().get("error") != "ERROR_CORE"
    r = call(sb.url, "batch", {"cmd": {"a": f"crm.deal.get?id={value}",
                                       "b": f"sale.order.get?id={value}"}})
    assert r.status_code == 200


def test_a_bug_in_a_handler_answers_bitrix_style_with_one_log_line(sb, caplog):
    sb._backend.run = lambda *a, **k: 1 / 0  # an emulator bug, as a crash anywhere would be
    r = call(sb.url, "profile")
    assert r.status_code == 500
    assert r.json() == {"error": "ERROR_CORE", "error_description": "Internal error"}
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1
    assert "ZeroDivisionError" in lines[0].getMessage()
    assert sb.url.split("/")[-2] not in lines[0].getMessage()  # no secret in the log


def test_answers_are_the_same_json_with_orjson_or_without():

    from b24nb.sandbox.answers import encode_json

    body = {"result": {"p0": [{"ID": "1", "TITLE": "Сделка №1 — «ёж»", "OPPORTUNITY": 19.99}]},
            "result_total": {"p0": 3}, "time": {"start": 1.5, "processing": 0.0003},
            "nested": [[1, 2], {"a": None, "b": True}]}
    assert json.loads(encode_json(body)) == body
    assert "Сделка".encode() in encode_json(body)  # UTF-8, not \\u escapes
    big = {"result": 2**70}  # beyond 64 bits: orjson refuses it, json writes it
    assert json.loads(encode_json(big)) == big
