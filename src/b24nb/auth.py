"""Credentials: an incoming webhook, or OAuth tokens with a single-flight refresh.

Why a refresh is single-flight: a Bitrix24 refresh token is one-time — each refresh returns a
new one and retires the old. When several threads see ``expired_token`` at once and each
refreshes, all but one send a used refresh token and get ``invalid_grant`` (the storm b24jssdk
fixed in its issue #147). Here the first thread refreshes; the others wait on the lock, see that
the access token already changed, and simply retry. ``on_refresh(tokens)`` hands the rotated
pair to the caller so it can store it — otherwise the next session starts with a dead token.

Every secret (webhook secret, access and refresh tokens, client secret) is registered with
:func:`b24nb.redact.register_secret` the moment it is known, and no repr shows one.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from b24nb.errors import AuthError, ValidationError, error_from_response
from b24nb.redact import MASK, redact_url, register_secret
from b24nb.transport import Transport, check_url

__all__ = ["DEFAULT_TOKEN_URL", "Credentials", "OAuth", "Webhook", "as_credentials",
           "credentials_from_env"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

#: Bitrix24's documented OAuth server; b24pysdk uses oauth.bitrix24.tech, hence configurable.
DEFAULT_TOKEN_URL = "https://oauth.bitrix.info/oauth/token/"

_WEBHOOK = re.compile(r"^(?P<base>.+?/rest/)(?P<uid>\d+)/(?P<secret>[^/?#]+)/?$")


class Credentials(Protocol):
    """What the portal needs from a credential: where to send and what to add."""

    def endpoint(self, method: str) -> str: ...

    def sign(self, payload: dict[str, Any]) -> tuple[dict[str, Any], Any]: ...

    def refresh(self, transport: Transport, seen: Any) -> bool: ...

    @property
    def host(self) -> str: ...


class Webhook:
    """An incoming webhook: ``https://portal/rest/<user id>/<secret>/``.

    The secret lives only in :attr:`_base`; ``repr`` and :attr:`host` never show it.
    """

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise ValidationError(f"a webhook URL must be a string, not {type(url).__name__}")
        url = url.strip()
        m = _WEBHOOK.match(url)
        if not m:
            raise ValidationError(_not_a_webhook(url))
        register_secret(m["secret"])
        check_url(url)
        self._base = f"{m['base']}{m['uid']}/{m['secret']}/"
        self.user_id = int(m["uid"])
        parts = urlsplit(url)
        self._host = f"{parts.scheme}://{parts.netloc}"

    @property
    def host(self) -> str:
        return self._host

    def endpoint(self, method: str) -> str:
        return self._base + method

    def sign(self, payload: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        return payload, None

    def refresh(self, transport: Transport, seen: Any) -> bool:
        return False  # a webhook secret does not expire on its own; nothing to refresh

    def __repr__(self) -> str:
        return f"Webhook({self._host}/rest/{self.user_id}/{MASK}/)"


def _not_a_webhook(url: str) -> str:
    """Say what is wrong with a webhook URL without repeating any part that may be secret."""
    hint = ""
    tail = re.match(r"^.+?/rest/(\d+)/[^/?#]+/+[^/?#]+/*$", url)
    if tail:
        hint = " (drop the method name after the secret)"
    elif re.match(r"^.+?/rest/[^/]*\D[^/]*/", url):
        hint = " (the part after /rest/ must be the numeric user id)"
    elif "/rest/" not in url:
        hint = " (no /rest/ in it)"
    return (f"not a webhook URL: {redact_url(url)!r}{hint}; expected "
            "https://<portal>/rest/<user id>/<secret>/")


@dataclass
class _Tokens:
    access_token: str
    refresh_token: str
    expires: float | None = None


class OAuth:
    """OAuth 2.0 tokens of a Bitrix24 app, refreshed on ``expired_token``.

    Parameters
    ----------
    access_token, refresh_token : str
        The current pair.
    client_id, client_secret : str
        The app's credentials; the secret goes only to ``token_url``, never to the portal.
    client_endpoint : str
        The portal's REST base, e.g. ``https://portal.bitrix24.com/rest/``.
    token_url : str
        The OAuth server's token endpoint (``oauth.bitrix.info`` by default).
    on_refresh : callable, optional
        Called with the new token dict after every refresh, to store the rotated refresh token.
    """

    def __init__(
        self,
        access_token: str,
        refresh_token: str,
        client_id: str,
        client_secret: str,
        client_endpoint: str,
        *,
        token_url: str = DEFAULT_TOKEN_URL,
        on_refresh: Callable[[dict[str, Any]], None] | None = None,
        expires: float | None = None,
    ) -> None:
        for secret in (access_token, refresh_token, client_secret):
            register_secret(secret)
        if not client_endpoint.endswith("/"):
            client_endpoint += "/"
        check_url(client_endpoint)
        check_url(token_url)
        self.client_id = client_id
        self._client_secret = client_secret
        self.client_endpoint = client_endpoint
        self.token_url = token_url
        self.on_refresh = on_refresh
        self._tokens = _Tokens(access_token, refresh_token, expires)
        self._lock = threading.Lock()
        self.refreshes = 0
        parts = urlsplit(client_endpoint)
        self._host = f"{parts.scheme}://{parts.netloc}"

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> OAuth:
        """Build from a dict such as ``sb.issue_tokens() | sb.oauth_client()``."""
        return cls(
            m["access_token"],
            m["refresh_token"],
            m["client_id"],
            m["client_secret"],
            m["client_endpoint"],
            token_url=m.get("token_url") or DEFAULT_TOKEN_URL,
            on_refresh=m.get("on_refresh"),
            expires=m.get("expires"),
        )

    @property
    def host(self) -> str:
        return self._host

    @property
    def access_token(self) -> str:
        return self._tokens.access_token

    def endpoint(self, method: str) -> str:
        return self.client_endpoint + method

    def sign(self, payload: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """Add ``auth=`` to a request body; return it with the token used (to refresh once)."""
        token = self._tokens.access_token
        return {**payload, "auth": token}, token

    def refresh(self, transport: Transport, seen: Any) -> bool:
        """Refresh unless another thread already did since ``seen`` was used; True if renewed."""
        with self._lock:
            if self._tokens.access_token != seen:
                return True  # somebody else refreshed while we waited for the lock
            params = {
                "grant_type": "refresh_token",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "refresh_token": self._tokens.refresh_token,
            }
            answer = transport.get(self.token_url, params, method="oauth.token")
            body = answer.body if isinstance(answer.body, dict) else {}
            if answer.status != 200 or "access_token" not in body:
                raise error_from_response(
                    body.get("error") or "INVALID_GRANT",
                    body.get("error_description") or "the OAuth server refused the refresh",
                    status=answer.status,
                    method="oauth.token",
                )
            for key in ("access_token", "refresh_token"):
                register_secret(body.get(key))
            expires_in = body.get("expires_in")
            try:
                expires = time.time() + float(expires_in) if expires_in else None
            except (TypeError, ValueError):
                expires = None
            self._tokens = _Tokens(
                body["access_token"],
                body.get("refresh_token") or self._tokens.refresh_token,
                expires,
            )
            if body.get("client_endpoint"):
                # the old refresh token is spent now: a bad endpoint must not stop the new
                # pair from reaching on_refresh, so keep the old endpoint and say why
                endpoint = str(body["client_endpoint"])
                endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
                try:
                    check_url(endpoint)
                except ValidationError as err:
                    log.warning("OAuth server sent an unusable client_endpoint; keeping %s (%s)",
                                self._host, err)
                else:
                    self.client_endpoint = endpoint
                    parts = urlsplit(endpoint)
                    self._host = f"{parts.scheme}://{parts.netloc}"
            self.refreshes += 1
            log.info("OAuth access token refreshed (%d so far)", self.refreshes)
            callback = self.on_refresh
        if callback is not None:
            callback(dict(body))
        return True

    def __repr__(self) -> str:
        return f"OAuth({self._host}, client_id={self.client_id!r}, tokens={MASK})"


def as_credentials(value: Any) -> Webhook | OAuth:
    """A webhook URL string, OAuth settings (a mapping) or a credential object, as credentials."""
    if isinstance(value, str):
        return Webhook(value)
    if isinstance(value, Mapping):
        return OAuth.from_mapping(value)
    if isinstance(value, (Webhook, OAuth)) or all(
            hasattr(value, name) for name in ("endpoint", "sign", "refresh", "host")):
        return value
    raise ValidationError("credentials must be a webhook URL, OAuth settings or a "
                          f"b24nb.auth.Webhook/OAuth, not {type(value).__name__}")


def credentials_from_env(env: Mapping[str, str] | None = None) -> Webhook | OAuth | None:
    """Read ``B24_WEBHOOK_URL``, or the ``B24_OAUTH_*`` settings, from the environment.

    OAuth needs ``B24_OAUTH_ACCESS_TOKEN``, ``B24_OAUTH_REFRESH_TOKEN``,
    ``B24_OAUTH_CLIENT_ID``, ``B24_OAUTH_CLIENT_SECRET``, ``B24_OAUTH_CLIENT_ENDPOINT`` and
    optionally ``B24_OAUTH_TOKEN_URL``. Returns None when neither is set.
    """
    env = os.environ if env is None else env
    url = env.get("B24_WEBHOOK_URL", "").strip()
    if url:
        return Webhook(url)
    keys = ["ACCESS_TOKEN", "REFRESH_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "CLIENT_ENDPOINT"]
    values = {k: env.get(f"B24_OAUTH_{k}", "").strip() for k in keys}
    if not any(values.values()):
        return None
    missing = [f"B24_OAUTH_{k}" for k, v in values.items() if not v]
    if missing:
        raise AuthError("INCOMPLETE_OAUTH_SETTINGS", "missing " + ", ".join(missing))
    return OAuth(
        values["ACCESS_TOKEN"],
        values["REFRESH_TOKEN"],
        values["CLIENT_ID"],
        values["CLIENT_SECRET"],
        values["CLIENT_ENDPOINT"],
        token_url=env.get("B24_OAUTH_TOKEN_URL", "").strip() or DEFAULT_TOKEN_URL,
    )
