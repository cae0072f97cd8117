"""OAuth against the sandbox: refresh once on expiry, single-flight, rotated tokens handed on."""

from __future__ import annotations

import threading

import pytest

from b24nb.auth import OAuth
from b24nb.errors import AuthError, ExpiredTokenError
from b24nb.portal import Portal, connect


def oauth_for(sb, expires_in: int = 3600, **kw) -> OAuth:
    settings = {**sb.issue_tokens(expires_in=expires_in), **sb.oauth_client(), **kw}
    return OAuth.from_mapping(settings)


def test_expired_token_is_refreshed_once_and_the_call_completes(small_sandbox):
    seen: list[dict] = []
    auth = oauth_for(small_sandbox, on_refresh=seen.append)
    old_access = auth.access_token
    portal = Portal(auth, progress=False)
    small_sandbox.faults.add(method="crm.deal.get", kind="expired_token", p=1.0, seed=1, times=1)
    assert portal.call("crm.deal.get", {"id": 3})["ID"] == "3"
    assert auth.refreshes == 1
    assert portal.stats.refreshes == 1
    assert len(seen) == 1
    assert seen[0]["access_token"] == auth.access_token != old_access
    assert seen[0]["refresh_token"]  # the rotated refresh token reaches the caller
    # the new token keeps working without further refreshes
    assert portal.call("crm.deal.get", {"id": 4})["ID"] == "4"
    assert auth.refreshes == 1


def test_concurrent_expiry_refreshes_only_once(small_sandbox):
    calls: list[dict] = []
    auth = oauth_for(small_sandbox, on_refresh=calls.append)
    portal = Portal(auth, progress=False)
    small_sandbox.faults.add(method="crm.deal.get", kind="expired_token", p=1.0, seed=1, times=1)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            portal.call("crm.deal.get", {"id": i + 1})
        except BaseException as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert auth.refreshes == 1  # a second refresh would have sent a used refresh token
    assert len(calls) == 1


def test_a_token_that_stays_expired_raises_after_one_refresh(small_sandbox):
    auth = oauth_for(small_sandbox)
    portal = Portal(auth, progress=False)
    small_sandbox.faults.add(method="crm.deal.get", kind="expired_token", p=1.0, seed=1)
    with pytest.raises(ExpiredTokenError):
        portal.call("crm.deal.get", {"id": 1})
    assert auth.refreshes == 1


def test_refused_refresh_raises_a_clear_error_without_secrets(small_sandbox):
    tokens = small_sandbox.issue_tokens(expires_in=3600)
    client = small_sandbox.oauth_client()
    auth = OAuth.from_mapping({**tokens, **client, "client_secret": "n0tTheR1ghtSecret"})
    portal = Portal(auth, progress=False)
    small_sandbox.faults.add(method="crm.deal.get", kind="expired_token", p=1.0, seed=1, times=1)
    with pytest.raises(AuthError) as exc:
        portal.call("crm.deal.get", {"id": 1})
    text = f"{exc.value} {exc.value!r} {portal!r} {auth!r}"
    assert exc.value.code.lower() == "invalid_client"
    for secret in ("n0tTheR1ghtSecret", tokens["access_token"], tokens["refresh_token"]):
        assert secret not in text


def test_connect_accepts_oauth_settings_with_a_configurable_token_url(small_sandbox):
    settings = {**small_sandbox.issue_tokens(), **small_sandbox.oauth_client()}
    portal = connect(oauth=settings, progress=False)
    assert portal.call("profile")["ID"] == "1"
    assert settings["access_token"] not in repr(portal)


def test_list_over_oauth_batches_with_the_token(small_sandbox):
    auth = oauth_for(small_sandbox)
    portal = Portal(auth, progress=False)
    rows = list(portal.list("crm.deal.list", {"select": ["ID"]}))
    assert [int(r["ID"]) for r in rows] == list(range(1, 201))
