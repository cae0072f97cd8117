"""The webhook secret and OAuth tokens never reach a repr, an exception, a log record or a bar.

Every test tries to make a secret leak the way a user would meet it: DEBUG logging turned on
to see what the client does, a connection error or timeout on a URL that holds the secret, a
failed OAuth refresh, an error pickled to another process.
"""

from __future__ import annotations

import logging
import pickle
import warnings

import pytest

from b24nb.auth import OAuth, Webhook
from b24nb.errors import (
    AuthError,
    ListIncompleteError,
    NetworkError,
    OperationTimeLimitError,
    OutcomeUnknownError,
    PortalError,
    ValidationError,
    error_from_response,
)
from b24nb.limits import ScaledClock
from b24nb.portal import Portal
from b24nb.redact import MASK, RedactingFilter
from b24nb.testing import free_port

FAST = ScaledClock(10_000.0)  # back-off waits of a retried read pass in microseconds


def secret_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def everything(err: BaseException) -> str:
    """Every rendering of an exception a user (or a logger) could see, chained ones too."""
    parts = [str(err), repr(err), repr(err.args)]
    for link in (err.__cause__, err.__context__):
        if link is not None:
            parts.append(everything(link))
    parts.append(repr(pickle.loads(pickle.dumps(err))))
    return " ".join(parts)


@pytest.fixture
def debug_log(caplog):
    caplog.set_level(logging.DEBUG)  # root and every library logger, urllib3 included
    return caplog


def logged(caplog) -> str:
    handler_text = caplog.text
    records = " ".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    return handler_text + records


def test_debug_logs_of_calls_lists_and_batches_never_show_the_webhook_secret(
        small_sandbox, debug_log):
    portal = Portal(small_sandbox.url, progress=False)
    portal.call("profile")
    list(portal.list("crm.deal.list", {"select": ["ID"]}))
    portal.batch([("crm.deal.get", {"id": 1})])
    text = logged(debug_log)
    assert "POST /rest/1/" in text  # urllib3 did log the request lines …
    assert secret_of(small_sandbox.url) not in text  # … with the secret masked


def test_debug_logs_of_an_oauth_refresh_show_no_token_and_no_client_secret(
        small_sandbox, debug_log):
    tokens = small_sandbox.issue_tokens(expires_in=3600)
    client = small_sandbox.oauth_client()
    auth = OAuth.from_mapping({**tokens, **client})
    portal = Portal(auth, progress=False)
    small_sandbox.faults.add(method="crm.deal.get", kind="expired_token", p=1.0, seed=1, times=1)
    assert portal.call("crm.deal.get", {"id": 1})["ID"] == "1"
    assert auth.refreshes == 1
    text = logged(debug_log)
    assert "/oauth/token/" in text
    for secret in (client["client_secret"], tokens["refresh_token"], tokens["access_token"],
                   auth.access_token):
        assert secret not in text


def test_a_refused_connection_to_a_url_holding_the_secret_says_nothing_of_it(debug_log):
    url = f"http://127.0.0.1:{free_port()}/rest/1/r3fusedS3cretValue/"
    portal = Portal(url, progress=False, clock=FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(NetworkError) as exc:
            portal.call("profile")
    assert exc.value.code == "CONNECTION_REFUSED"
    assert exc.value.__cause__ is None
    assert exc.value.__context__ is None
    text = everything(exc.value) + logged(debug_log) + " ".join(str(w.message) for w in caught)
    text += repr(portal) + repr(portal.stats)
    assert "r3fusedS3cretValue" not in text


def test_an_unknown_host_raises_a_clear_error_without_the_secret(debug_log):
    portal = Portal("https://no-such-portal.invalid/rest/1/dnsS3cretValue1/", progress=False,
                    clock=FAST)
    with pytest.raises(NetworkError) as exc:
        portal.call("profile")
    assert exc.value.code == "HOST_NOT_FOUND"
    assert "host name" in str(exc.value)
    assert "dnsS3cretValue1" not in everything(exc.value) + logged(debug_log)
    assert portal.stats.http_requests == 3  # two quick retries for a DNS hiccup, no more


def test_a_read_timeout_says_nothing_of_the_secret(small_sandbox, debug_log):
    portal = Portal(small_sandbox.url, progress=False, timeout=0.2, clock=FAST)
    small_sandbox.faults.add(method="crm.deal.get", kind="slow", p=1.0, seed=1, delay=1.0)
    with pytest.raises(NetworkError) as exc:
        portal.call("crm.deal.get", {"id": 1})
    assert exc.value.code == "TIMEOUT"
    assert secret_of(small_sandbox.url) not in everything(exc.value) + logged(debug_log)


def test_a_write_timeout_is_outcome_unknown_and_says_nothing_of_the_secret(small_sandbox):
    portal = Portal(small_sandbox.url, progress=False, timeout=0.2, clock=FAST)
    b = small_sandbox.bindings()[0]
    small_sandbox.faults.add(method="crm.orderentity.add", kind="slow", p=1.0, seed=1,
                             delay=1.0, times=1)
    small_sandbox.stats.reset()
    with pytest.raises(OutcomeUnknownError) as exc:
        portal.call("crm.orderentity.add", {"fields": b})
    assert portal.stats.http_requests == 1  # never resent: it may have run
    assert secret_of(small_sandbox.url) not in everything(exc.value)


def test_a_refresh_to_an_unreachable_oauth_server_says_nothing_of_the_tokens(
        small_sandbox, debug_log):
    tokens = small_sandbox.issue_tokens(expires_in=3600)
    client = {**small_sandbox.oauth_client(),
              "token_url": f"http://127.0.0.1:{free_port()}/oauth/token/"}
    auth = OAuth.from_mapping({**tokens, **client})
    portal = Portal(auth, progress=False, clock=FAST)
    small_sandbox.faults.add(method="crm.deal.get", kind="expired_token", p=1.0, seed=1, times=1)
    with pytest.raises(PortalError) as exc:
        portal.call("crm.deal.get", {"id": 1})
    text = everything(exc.value) + logged(debug_log) + repr(auth) + repr(portal)
    for secret in (client["client_secret"], tokens["refresh_token"], tokens["access_token"]):
        assert secret not in text


def test_a_refused_refresh_logged_at_debug_shows_no_secret(small_sandbox, debug_log):
    tokens = small_sandbox.issue_tokens(expires_in=3600)
    client = small_sandbox.oauth_client()
    auth = OAuth.from_mapping({**tokens, **client, "client_secret": "n0tTheR1ghtSecret"})
    portal = Portal(auth, progress=False)
    small_sandbox.faults.add(method="crm.deal.get", kind="expired_token", p=1.0, seed=1, times=1)
    with pytest.raises(AuthError) as exc:
        portal.call("crm.deal.get", {"id": 1})
    text = everything(exc.value) + logged(debug_log)
    for secret in ("n0tTheR1ghtSecret", tokens["refresh_token"], tokens["access_token"]):
        assert secret not in text


def test_reprs_of_portal_and_credentials_show_no_secret():
    hook = Webhook("https://p.bitrix24.com/rest/9/r3prS3cretValue/")
    oauth = OAuth("acc3ssT0kenValue", "r3freshT0kenValue", "app.1", "cl1entS3cretValue",
                  "https://p.bitrix24.com/rest/")
    text = " ".join(repr(x) for x in (hook, oauth, Portal(hook, progress=False),
                                      Portal(oauth, progress=False), vars(hook).keys()))
    for secret in ("r3prS3cretValue", "acc3ssT0kenValue", "r3freshT0kenValue",
                   "cl1entS3cretValue"):
        assert secret not in text


@pytest.mark.parametrize(
    "url",
    [
        "https://p.bitrix24.com/rest/admin/badS3cretValue1/",  # no numeric user id
        "https://p.bitrix24.com/rest/1/badS3cretValue1/crm.deal.list",  # method appended
        "http://p.bitrix24.com/rest/1/badS3cretValue1/",  # plain http off loopback
        "https://user:badS3cretValue1@p.bitrix24.com/rest/1/x/",  # secret as a password
        "https://p.bitrix24.com:99999/rest/1/badS3cretValue1/",  # bad port
        "p.bitrix24.com/rest/1/badS3cretValue1/",  # no scheme
    ],
)
def test_bad_webhook_urls_are_refused_clearly_without_echoing_the_secret(url):
    with pytest.raises(ValidationError) as exc:
        Portal(url, progress=False).call("profile")
    message = str(exc.value)
    assert "badS3cretValue1" not in everything(exc.value)
    assert "p.bitrix24.com" in message  # but it does say which URL it means


def test_a_method_name_after_the_secret_gets_a_hint():
    with pytest.raises(ValidationError, match="drop the method name"):
        Webhook("https://p.bitrix24.com/rest/1/hintS3cretValue/profile.json")


@pytest.mark.parametrize(
    "err",
    [
        PortalError("X", "d", status=400, method="m"),
        error_from_response("201650000001", "dup", status=400, method="crm.orderentity.add"),
        NetworkError("CONNECTION_REFUSED", "refused", method="m", sent=False),
        OutcomeUnknownError("CONNECTION_ERROR", "lost", method="m"),
    ],
)
def test_errors_survive_pickling_with_every_field(err):
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert (back.code, back.description, back.status, back.method) == (
        err.code, err.description, err.status, err.method)
    assert vars(back) == vars(err)  # `sent`, `reset_at` and friends included


def test_a_not_sent_network_error_stays_not_sent_after_pickling():
    err = NetworkError("CONNECTION_REFUSED", method="m", sent=False)
    assert pickle.loads(pickle.dumps(err)).sent is False
    limit = OperationTimeLimitError("OPERATION_TIME_LIMIT", status=429)
    limit.reset_at = 123.0
    assert pickle.loads(pickle.dumps(limit)).reset_at == 123.0


def test_list_incomplete_error_pickles_with_its_rows_and_cause():
    err = ListIncompleteError("crm.deal.list", [{"ID": "1"}], PortalError("X", method="m"))
    back = pickle.loads(pickle.dumps(err))
    assert back.rows == [{"ID": "1"}]
    assert back.error.code == "X"
    assert str(back) == str(err)


def test_the_log_filter_masks_messages_args_and_tracebacks():
    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1,
                               '%s "%s"', ("https://p", "POST /rest/1/fi1terS3cret/batch"),
                               None)
    try:
        raise RuntimeError("boom at https://p/rest/1/fi1terS3cret/profile?auth=t0kenValue9")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    text = record.getMessage() + (record.exc_text or "")
    assert "fi1terS3cret" not in text
    assert "t0kenValue9" not in text
    assert MASK in text
    assert record.exc_info is None  # the traceback's frames are dropped with it
