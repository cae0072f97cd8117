"""OAuth 2.0 for the sandbox: one local app, access tokens that expire, refresh tokens.

The token endpoint (``/oauth/token/``) sits on the sandbox itself, standing in for
``oauth.bitrix.info``. Access tokens live ``expires_in`` virtual seconds (3600 by default);
each refresh returns a new pair and retires the old refresh token (``invalid_grant`` if it is
used again), so a client that fails to store the new one finds out here.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .api import ApiError

__all__ = ["OAuth"]


@dataclass
class _Access:
    expires: float
    user_id: int


class OAuth:
    """Token store of the sandbox's single OAuth application."""

    def __init__(self, now: Callable[[], float], base_url: Callable[[], str]) -> None:
        self._now = now
        self._base = base_url
        self.client_id = "local." + secrets.token_hex(7) + "." + secrets.token_hex(4)
        self.client_secret = secrets.token_urlsafe(24)
        self.member_id = secrets.token_hex(16)
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, int] = {}
        self._lock = threading.Lock()

    def issue(self, expires_in: int = 3600, user_id: int = 1) -> dict[str, Any]:
        """Mint a fresh token pair, shaped like the OAuth server's answer."""
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        now = self._now()
        with self._lock:
            self._access[access] = _Access(now + expires_in, user_id)
            self._refresh[refresh] = expires_in
        base = self._base()
        return {"access_token": access, "refresh_token": refresh, "expires": int(now + expires_in),
                "expires_in": expires_in, "client_endpoint": base + "/rest/",
                "server_endpoint": base + "/oauth/rest/", "domain": base.split("//", 1)[-1],
                "member_id": self.member_id, "scope": "crm,sale,user", "status": "L",
                "user_id": user_id}

    def check(self, token: str) -> str:
        """Validate an access token; returns the caller identity used by the limits."""
        with self._lock:
            entry = self._access.get(token)
        if entry is None:
            raise ApiError("invalid_token", "Unable to get application by token", 401)
        if entry.expires <= self._now():
            raise ApiError("expired_token", "The access token provided has expired.", 401)
        return "app:" + self.client_id

    def expire(self, token: str) -> None:
        """Make ``token`` expired now (the ``expired_token`` fault)."""
        with self._lock:
            if token in self._access:
                self._access[token].expires = self._now() - 1

    def token_endpoint(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Serve ``grant_type=refresh_token``; raises ApiError with the OAuth server's codes."""
        grant = params.get("grant_type")
        if grant != "refresh_token":
            raise ApiError("invalid_request", "Unsupported grant_type", 400)
        if (params.get("client_id") != self.client_id
                or params.get("client_secret") != self.client_secret):
            raise ApiError("invalid_client", "Invalid client", 401)
        refresh = str(params.get("refresh_token") or "")
        with self._lock:
            expires_in = self._refresh.pop(refresh, None)
        if expires_in is None:
            raise ApiError("invalid_grant", "Invalid grant", 400)
        return self.issue(expires_in)
