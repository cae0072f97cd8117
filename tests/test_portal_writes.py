"""A write is resent only when it surely did not run; network failures are sorted carefully.

Resending a write whose answer was lost can bind an order twice (or rebind it after someone
moved it); not resending a read only costs a retry. So "surely did not run" is narrow: the
portal's own 503/429 refusals and a connection that was never established.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError
from urllib3.exceptions import SSLError as Urllib3SSLError

from b24nb.errors import (
    BatchLengthError,
    NetworkError,
    NotRunError,
    OperationTimeLimitError,
    OutcomeUnknownError,
    ServerError,
    ValidationError,
)
from b24nb.limits import ScaledClock, retry_delay
from b24nb.portal import Portal
from b24nb.testing import free_port
from b24nb.transport import network_error

FAST = ScaledClock(10_000.0)
URL = "https://p.bitrix24.com/rest/1/cl4ssifyS3cret/crm.orderentity.add"


def _refused() -> BaseException:
    inner = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] "
                                     "Connection refused")
    inner.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return requests.ConnectionError(MaxRetryError(None, URL, inner))


def _tls(exc: BaseException) -> BaseException:
    return requests.exceptions.SSLError(MaxRetryError(None, URL, Urllib3SSLError(exc)))


CASES = [
    (_refused(), "CONNECTION_REFUSED", False),
    (requests.ConnectionError(MaxRetryError(None, URL, NameResolutionError(
        "p.bitrix24.com", None, socket.gaierror(-2, "Name or service not known")))),
     "HOST_NOT_FOUND", False),
    (requests.ConnectionError(MaxRetryError(None, URL, NewConnectionError(
        None, "[Errno 101] Network is unreachable"))), "CONNECTION_FAILED", False),
    (requests.exceptions.ConnectTimeout("connect timeout " + URL), "CONNECT_TIMEOUT", False),
    (_tls(ssl.SSLCertVerificationError(1, "certificate verify failed")), "TLS_CERTIFICATE",
     False),
    # from here on the request may have reached the portal
    (requests.exceptions.ReadTimeout("read timeout " + URL), "TIMEOUT", True),
    (requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(
        104, "Connection reset by peer"))), "CONNECTION_ERROR", True),
    (requests.ConnectionError(ProtocolError("Connection aborted.", http.client.RemoteDisconnected(
        "Remote end closed connection without response"))), "CONNECTION_ERROR", True),
    (_tls(ssl.SSLEOFError(8, "EOF occurred in violation of protocol")), "TLS_ERROR", True),
    (requests.exceptions.ChunkedEncodingError("broken " + URL), "REQUEST_ERROR", True),
]


@pytest.mark.parametrize(("exc", "code", "sent"), CASES, ids=[c[1] + str(c[2]) for c in CASES])
def test_network_failures_are_sorted_into_sent_and_surely_not_sent(exc, code, sent):
    err = network_error(exc, method="crm.orderentity.add", timeout=30)
    assert err.code == code
    assert err.sent is sent
    assert "cl4ssifyS3cret" not in f"{err} {err!r} {err.args}"


def test_a_certificate_failure_is_not_retried_but_a_dropped_connection_is():
    cert = network_error(CASES[4][0], method="m", timeout=30)
    assert retry_delay(cert, 0) is None
    reset = network_error(CASES[6][0], method="m", timeout=30)
    assert retry_delay(reset, 0) is not None


def test_a_write_to_a_refused_connection_is_resent_because_it_never_left():
    portal = Portal(f"http://127.0.0.1:{free_port()}/rest/1/wr1teS3cret/", progress=False,
                    clock=FAST)
    with pytest.raises(NetworkError) as exc:
        portal.call("crm.orderentity.add", {"fields": {"orderId": 1, "ownerId": 2,
                                                       "ownerTypeId": 2}})
    assert not isinstance(exc.value, OutcomeUnknownError)
    assert exc.value.sent is False
    assert portal.stats.http_requests == 7  # the first try and six retries


def test_a_write_whose_connection_resets_after_it_ran_is_outcome_unknown(small_sandbox):
    portal = Portal(small_sandbox.url, progress=False, clock=FAST)
    b = small_sandbox.bindings()[2]
    other = 5 if b["ownerId"] != 5 else 6
    small_sandbox.faults.add(method="crm.orderentity.add", kind="reset", p=1.0, seed=1,
                             times=1, after=True)
    small_sandbox.stats.reset()
    with pytest.raises(OutcomeUnknownError):
        portal.call("crm.orderentity.add",
                    {"fields": {"orderId": b["orderId"], "ownerTypeId": 2, "ownerId": other}})
    assert small_sandbox.stats.http_requests == 1  # not resent …
    now = {x["orderId"]: x["ownerId"] for x in small_sandbox.bindings()}
    assert now[b["orderId"]] == other  # … and rightly so: it had run


def test_a_batch_mixing_reads_and_a_write_is_treated_as_a_write(small_sandbox):
    portal = Portal(small_sandbox.url, progress=False, clock=FAST)
    b = small_sandbox.bindings()[3]
    small_sandbox.faults.add(method="crm.orderentity.add", kind="500", p=1.0, seed=1, times=1)
    small_sandbox.stats.reset()
    with pytest.raises(OutcomeUnknownError):
        portal.batch({"read": ("crm.deal.get", {"id": 1}),
                      "write": ("crm.orderentity.add", {"fields": b})})
    assert small_sandbox.stats.http_requests == 1


def test_a_batch_of_reads_is_retried_after_a_500(small_sandbox):
    portal = Portal(small_sandbox.url, progress=False, clock=FAST)
    small_sandbox.faults.add(method="crm.deal.get", kind="500", p=1.0, seed=1, times=1)
    res = portal.batch({"a": ("crm.deal.get", {"id": 1}), "b": ("crm.deal.list", {"start": 0})})
    assert res["a"].ok
    assert res["b"].ok
    assert portal.stats.retries == 1


def test_a_write_refused_by_the_operating_limit_waits_and_is_resent(small_sandbox):
    portal = Portal(small_sandbox.url, progress=False, clock=FAST)
    b = small_sandbox.bindings()[4]
    other = 7 if b["ownerId"] != 7 else 8
    small_sandbox.faults.add(method="crm.orderentity.add", kind="429", p=1.0, seed=1, times=1)
    small_sandbox.stats.reset()
    res = portal.call("crm.orderentity.add",
                      {"fields": {"orderId": b["orderId"], "ownerTypeId": 2, "ownerId": other}})
    assert res["dealOrder"]["ownerId"] == other
    assert small_sandbox.stats.refused_429 == 1
    assert portal.stats.retries == 1
    assert portal.stats.waited_seconds >= 5  # the method was held (~11 s), not hammered


class _Bare503(BaseHTTPRequestHandler):
    """A proxy's maintenance page: HTTP 503 with HTML, no portal error in it."""

    hits = 0

    def do_POST(self) -> None:
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html><body>503 Service Temporarily Unavailable</body></html>"
        self.send_response(503)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def bare_503() -> Iterator[str]:
    _Bare503.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bare503)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/rest/1/pr0xyS3cret/"
    server.shutdown()
    server.server_close()


def test_a_bare_503_page_is_not_proof_that_a_write_did_not_run(bare_503):
    portal = Portal(bare_503, progress=False, clock=FAST)
    with pytest.raises(OutcomeUnknownError) as exc:
        portal.call("crm.orderentity.add", {"fields": {"orderId": 1, "ownerId": 2,
                                                       "ownerTypeId": 2}})
    assert exc.value.status == 503
    assert _Bare503.hits == 1


def test_a_bare_503_page_is_retried_for_a_read(bare_503):
    portal = Portal(bare_503, progress=False, clock=FAST)
    with pytest.raises(ServerError):
        portal.call("crm.deal.get", {"id": 1})
    assert _Bare503.hits > 1


def test_a_halted_batch_over_50_commands_reports_every_later_command_as_not_run(small_sandbox):
    portal = Portal(small_sandbox.url, progress=False)
    cmds = [("crm.deal.get", {"id": 999_999})] + [("crm.deal.get", {"id": i})
                                                   for i in range(1, 80)]
    res = portal.batch(cmds, halt=True)
    assert list(res) == [str(i) for i in range(80)]  # every key answered, in order
    assert not res["0"].ok
    assert all(not r.ok for r in res.values())
    assert isinstance(res["79"].error, BatchLengthError)
    assert isinstance(res["79"].error, NotRunError)  # callers match the class, not the code
    assert res["79"].error.code == "NOT_RUN"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"timeout": 0}, "timeout"), ({"timeout": -1}, "timeout")],
)
def test_bad_portal_settings_are_refused_clearly(small_sandbox, kwargs, match):
    with pytest.raises(ValidationError, match=match):
        Portal(small_sandbox.url, **kwargs)


def test_credentials_of_the_wrong_type_are_refused_clearly():
    with pytest.raises(ValidationError, match="credentials"):
        Portal(12345)  # type: ignore[arg-type]


def test_the_operating_limit_is_waited_out_for_a_whole_window_not_a_minute():
    err = OperationTimeLimitError("OPERATION_TIME_LIMIT", status=429)
    # each refusal is held >= 10 s by the budget: 60 of them cover the 10-minute window
    assert all(retry_delay(err, a) is not None for a in range(60))
    assert retry_delay(err, 70) is None
