"""Fail fast in one line: connect() checks the webhook once and names the cause, no secret.

Every case talks HTTP to a real sandbox on 127.0.0.1 (or to a name that cannot resolve);
``_render_traceback_`` is what IPython prints instead of the stack.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

import b24nb
from b24nb.preflight import ConnectError, NothingSelectedWarning


def secret_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def one_line(exc: BaseException) -> str:
    lines = exc._render_traceback_()
    assert len(lines) == 1
    assert "\n" not in lines[0]
    return lines[0]


def test_a_good_webhook_costs_one_request(small_sandbox):
    small_sandbox.stats.reset()
    portal = b24nb.connect(small_sandbox.url, progress=False)
    assert small_sandbox.stats.http_requests == 1
    assert portal.call("profile")["ID"] == "1"


def test_a_bad_secret_is_named_and_never_shown(small_sandbox):
    url = small_sandbox.url.rstrip("/").rsplit("/", 1)[0] + "/wrongS3cretValue/"
    with pytest.raises(ConnectError) as exc:
        b24nb.connect(url, progress=False)
    assert exc.value.cause == "bad_secret"
    line = one_line(exc.value)
    assert line.startswith("ConnectError: bad webhook secret")
    for text in (line, repr(exc.value), str(pickle.loads(pickle.dumps(exc.value)))):
        assert "wrongS3cretValue" not in text
        assert secret_of(small_sandbox.url) not in text
    assert exc.value.__suppress_context__


def test_an_unknown_host_is_named():
    with pytest.raises(ConnectError) as exc:
        b24nb.connect("https://no-such-portal.invalid/rest/1/dnsS3cretValue1/", progress=False,
                      timeout=5)
    assert exc.value.cause == "host_not_found"
    assert "host not found" in one_line(exc.value)
    assert "dnsS3cretValue1" not in str(exc.value)


def test_plain_http_to_a_remote_host_is_refused_before_any_request():
    with pytest.raises(ConnectError) as exc:
        b24nb.connect("http://example.bitrix24.com/rest/1/plainS3cretValue/", progress=False)
    assert exc.value.cause == "plain_http"
    assert isinstance(exc.value, ValueError)  # still a ValidationError, as before
    assert "plainS3cretValue" not in one_line(exc.value)


def test_a_missing_scope_is_named(small_sandbox):
    from b24nb.sandbox.backend import Answer

    # the sandbox's webhooks have every scope; this one is narrowed to crm on the server side
    small_sandbox._backend.handlers["scope"] = lambda ctx, params: Answer(["crm", "user"])
    with pytest.raises(ConnectError) as exc:
        b24nb.connect(small_sandbox.url, progress=False)
    assert exc.value.cause == "missing_scope"
    assert "lacks sale" in one_line(exc.value)


@pytest.mark.slow  # the Portal retries a refused connection for ~40 s before giving up
def test_a_refused_connection_is_named():
    with pytest.raises(ConnectError) as exc:
        b24nb.connect("http://127.0.0.1:9/rest/1/refusedS3cret1/", progress=False)
    assert exc.value.cause == "unreachable"
    assert "refusedS3cret1" not in one_line(exc.value)


def test_bind_with_nothing_selected_says_so(small_sandbox, journal_path):
    portal = b24nb.connect(small_sandbox.url, progress=False)
    deals = b24nb.load_deals(portal, progress=False)
    orders = b24nb.load_orders(portal, progress=False)
    pairs = b24nb.suggest(deals, orders, bindings=b24nb.load_bindings(portal, progress=False))
    pairs["selected"] = False
    small_sandbox.stats.reset()
    with pytest.warns(NothingSelectedWarning, match="no pair is selected"):
        b24nb.bind(portal, pairs, progress=False)
    writes = [m for m in small_sandbox.stats.method_calls if m.startswith("crm.orderentity.a")]
    assert writes == []


def test_cli_help_is_plain_text():
    out = subprocess.run([sys.executable, "-m", "b24nb.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "``" not in out
    assert ":func:" not in out
    assert "b24nb sandbox" in out
