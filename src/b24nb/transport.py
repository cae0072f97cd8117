"""HTTP to the portal: one ``requests.Session``, JSON in and out, TLS, the loopback rule.

Why the only module that imports ``requests``: everything above it speaks in parsed JSON and
:class:`~b24nb.errors.PortalError` subclasses, so a transport failure can never carry a URL (and
the webhook secret inside it) up the stack. requests puts the full URL into its exception
messages; here those exceptions are replaced by :class:`~b24nb.errors.NetworkError` built from
the exception's class name only, raised ``from None`` so even ``__cause__`` stays clean.

Plain ``http://`` is refused except to a loopback address (the sandbox); TLS certificates are
always verified.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from b24nb.errors import NetworkError, ValidationError
from b24nb.redact import redact

__all__ = ["HttpAnswer", "Transport", "check_url"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

_USER_AGENT = "b24nb/0.1 (+python-requests)"


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """Refuse anything but ``https://…`` or ``http://`` to a loopback host.

    Why: a webhook URL *is* the credential; sending it in clear text over a network gives it
    away. The sandbox on 127.0.0.1 is the one place plain HTTP is harmless.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme == "https" and host:
        return url
    if scheme == "http" and host and _is_loopback(host):
        return url
    raise ValidationError(
        f"refusing portal URL {redact(url)!r}: use https:// (plain http is allowed only to "
        "a loopback address such as the sandbox on 127.0.0.1)"
    )


@dataclass(frozen=True)
class HttpAnswer:
    """One HTTP answer: the status and the parsed JSON body (None when it was not JSON)."""

    status: int
    body: Any
    content_type: str = ""


class Transport:
    """POST JSON to the portal and GET from the OAuth server over one pooled session."""

    def __init__(self, *, timeout: float = 30.0, pool_size: int = 32) -> None:
        self.timeout = float(timeout)
        self._session = requests.Session()
        self._session.verify = True  # never switched off: the URL carries the credential
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"User-Agent": _USER_AGENT, "Accept": "application/json"})

    def close(self) -> None:
        self._session.close()

    def post_json(self, url: str, payload: dict[str, Any], *, method: str) -> HttpAnswer:
        """POST ``payload`` as JSON to ``url``; raise :class:`NetworkError` with no URL in it."""
        check_url(url)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self._send("POST", url, method, data=body,
                          headers={"Content-Type": "application/json; charset=utf-8"})

    def get(self, url: str, params: dict[str, Any], *, method: str) -> HttpAnswer:
        """GET ``url`` with query ``params`` (the OAuth token endpoint wants a GET)."""
        check_url(url)
        return self._send("GET", url, method, params=params)

    def _send(self, verb: str, url: str, method: str, **kw: Any) -> HttpAnswer:
        err: NetworkError | None = None
        try:
            resp = self._session.request(verb, url, timeout=self.timeout,
                                         allow_redirects=False, **kw)
        except requests.exceptions.ConnectTimeout:
            err = NetworkError("CONNECT_TIMEOUT", "connecting to the portal timed out",
                               method=method, sent=False)
        except requests.exceptions.Timeout:
            err = NetworkError("TIMEOUT", f"no answer within {self.timeout:g} s", method=method)
        except requests.exceptions.SSLError:
            err = NetworkError("TLS_ERROR", "the portal's TLS certificate did not verify",
                               method=method, sent=False)
        except requests.exceptions.ConnectionError as exc:
            refused = _refused(exc)
            err = NetworkError(
                "CONNECTION_REFUSED" if refused else "CONNECTION_ERROR",
                "the portal refused the connection" if refused
                else "the connection was reset or dropped",
                method=method,
                sent=not refused,
            )
        except requests.exceptions.RequestException as exc:
            err = NetworkError("REQUEST_ERROR", type(exc).__name__, method=method)
        if err is not None:
            raise err from None  # requests' own message holds the URL
        ctype = resp.headers.get("Content-Type", "")
        try:
            body = resp.json()
        except ValueError:
            body = None
        return HttpAnswer(resp.status_code, body, ctype)


def _refused(exc: BaseException) -> bool:
    """True when the connection was refused, i.e. the request surely never arrived."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ConnectionRefusedError):
            return True
        name = type(e).__name__
        if name == "NewConnectionError" and "refused" in str(e).lower():
            return True
        stack.extend([e.__cause__, e.__context__])
        stack.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return False
