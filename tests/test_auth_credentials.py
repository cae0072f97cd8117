"""Credentials parse, never show their secrets, and come from the environment."""

from __future__ import annotations

import pytest

from b24nb.auth import DEFAULT_TOKEN_URL, OAuth, Webhook, credentials_from_env
from b24nb.errors import AuthError, ValidationError
from b24nb.redact import redact


def test_webhook_builds_method_urls_and_hides_its_secret():
    w = Webhook("https://portal.bitrix24.com/rest/7/k3ys3cr3tvalue/")
    assert w.endpoint("crm.deal.list") == "https://portal.bitrix24.com/rest/7/k3ys3cr3tvalue/crm.deal.list"
    assert "k3ys3cr3tvalue" not in repr(w)
    assert w.host == "https://portal.bitrix24.com"
    # registered: the bare secret is masked wherever it turns up
    assert "k3ys3cr3tvalue" not in redact("token was k3ys3cr3tvalue")


def test_webhook_without_trailing_slash_is_accepted():
    w = Webhook("https://portal.bitrix24.com/rest/1/abcdef123")
    assert w.endpoint("profile").endswith("/rest/1/abcdef123/profile")


@pytest.mark.parametrize("url", ["https://portal.bitrix24.com/", "not a url",
                                 "http://portal.example.com/rest/1/plainhttpsecret/"])
def test_webhook_refuses_bad_urls_without_echoing_the_secret(url):
    with pytest.raises(ValidationError) as exc:
        Webhook(url)
    assert "plainhttpsecret" not in str(exc.value)


def test_oauth_signs_with_auth_and_hides_tokens():
    o = OAuth("acc3sstoken1", "r3freshtoken1", "app.1", "cl1entsecret", "https://p.bitrix24.com/rest/")
    payload, used = o.sign({"id": 1})
    assert payload == {"id": 1, "auth": "acc3sstoken1"}
    assert used == "acc3sstoken1"
    assert o.endpoint("crm.deal.get") == "https://p.bitrix24.com/rest/crm.deal.get"
    for secret in ("acc3sstoken1", "r3freshtoken1", "cl1entsecret"):
        assert secret not in repr(o)
    assert o.token_url == DEFAULT_TOKEN_URL


def test_credentials_from_env_prefers_webhook_then_oauth_then_none():
    assert credentials_from_env({}) is None
    w = credentials_from_env({"B24_WEBHOOK_URL": "https://p.bitrix24.com/rest/1/zzzzzz1/"})
    assert isinstance(w, Webhook)
    env = {
        "B24_OAUTH_ACCESS_TOKEN": "aaaaaa1", "B24_OAUTH_REFRESH_TOKEN": "rrrrrr1",
        "B24_OAUTH_CLIENT_ID": "local.1", "B24_OAUTH_CLIENT_SECRET": "ssssss1",
        "B24_OAUTH_CLIENT_ENDPOINT": "https://p.bitrix24.com/rest/",
        "B24_OAUTH_TOKEN_URL": "https://oauth.bitrix24.tech/oauth/token/",
    }
    o = credentials_from_env(env)
    assert isinstance(o, OAuth)
    assert o.token_url == "https://oauth.bitrix24.tech/oauth/token/"


def test_incomplete_oauth_env_names_what_is_missing():
    with pytest.raises(AuthError) as exc:
        credentials_from_env({"B24_OAUTH_ACCESS_TOKEN": "aaaaaa2"})
    assert "B24_OAUTH_REFRESH_TOKEN" in str(exc.value)
    assert "aaaaaa2" not in str(exc.value)
