"""HTTP to the portal: one ``requests.Session``, JSON in and out, TLS, the loopback rule.

Why the only module that imports ``requests``: everything above it speaks in parsed JSON and
:class:`~b24nb.errors.PortalError` subclasses, so a transport failure can never carry a URL (and
the webhook secret inside it) up the stack. requests puts the full URL into its exception
messages; here those exceptions are replaced by :class:`~b24nb.errors.NetworkError` built from
the exception's class name only, raised ``from None`` so even ``__cause__`` stays clean. urllib3's
own DEBUG log lines (request line with the webhook path, the OAuth refresh query string) pass
through :class:`~b24nb.redact.RedactingFilter`.

Whether a failed request *reached the server* decides whether a write may be resent, so
:func:`network_error` sorts failures carefully: only a connection that was never established
(refused, unknown host, connect timeout, a certificate that did not verify) counts as "not
sent"; a reset, a read timeout or any other TLS failure after connecting may have delivered
the request, and the write's outcome is then unknown.

Plain ``http://`` is refused except to a loopback address (the sandbox); TLS certificates are
always verified.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from b24nb.errors import HostNotFoundError, NetworkError, ValidationError

try:  # optional: a faster decoder for big batch answers (see decode_json)
    import orjson as _orjson
except ImportError:  # pragma: no cover - the standard library decodes the same JSON
    _orjson = None
from b24nb.redact import protect_loggers, redact_url

__all__ = ["HttpAnswer", "Transport", "check_url", "network_error"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())
protect_loggers()  # urllib3 is imported by now, so its loggers exist

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
    if not isinstance(url, str):
        raise ValidationError(f"a portal URL must be a string, not {type(url).__name__}")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        raise ValidationError(
            f"not a valid URL: {redact_url(url)!r} (the port must be a number 1-65535)"
        ) from None
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            f"refusing portal URL {redact_url(url)!r}: it carries a user name or password "
            "before the host; a webhook's secret belongs in the path (/rest/<user id>/<secret>/)"
        )
    if scheme == "https" and host:
        return url
    if scheme == "http" and host and _is_loopback(host):
        return url
    if scheme == "http" and host:
        raise ValidationError(
            f"refusing portal URL {redact_url(url)!r}: plain http:// would send the webhook "
            "secret or token in clear text; use https:// (http is allowed only to a loopback "
            "address such as the sandbox on 127.0.0.1)"
        )
    raise ValidationError(
        f"not a portal URL: {redact_url(url)!r}; expected https://<portal>/rest/<user id>/"
        "<secret>/ for a webhook or https://<portal>/rest/ for OAuth"
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
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, requests.exceptions.URLRequired):
            err = None
            bad = True
        except requests.exceptions.RequestException as exc:
            err = network_error(exc, method=method, timeout=self.timeout)
            bad = False
        else:
            bad = False
        if bad:  # outside the except block, so no __context__ holds requests' message
            raise ValidationError(f"not a valid portal URL: {redact_url(url)!r}")
        if err is not None:
            raise err from None  # requests' own message holds the URL
        ctype = resp.headers.get("Content-Type", "")
        return HttpAnswer(resp.status_code, decode_json(resp.content), ctype)


def decode_json(raw: bytes) -> Any:
    """Parse an answer body; None when it is not JSON.

    Why orjson when it is installed: a 2,500-row batch answer is ~170 KiB, and with 48 of
    them arriving at once the standard decoder becomes the client's bottleneck (measured:
    15 ms vs 2.7 ms a batch on a loaded 2-core box). The standard one remains the fallback,
    also for what orjson refuses (integers beyond 64 bits).
    """
    if _orjson is not None:
        try:
            return _orjson.loads(raw)
        except ValueError:
            pass
    try:
        return json.loads(raw)
    except ValueError:  # UnicodeDecodeError included
        return None


def _chain(exc: BaseException) -> list[BaseException]:
    """Every exception inside ``exc``: causes, contexts, args and urllib3's ``reason``."""
    seen: set[int] = set()
    out: list[BaseException] = []
    stack: list[Any] = [exc]
    while stack:
        e = stack.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        stack.extend([e.__cause__, e.__context__, getattr(e, "reason", None)])
        stack.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    return out


def _named(chain: list[BaseException], *names: str) -> bool:
    return any(cls.__name__ in names for e in chain for cls in type(e).__mro__)


def network_error(exc: BaseException, *, method: str, timeout: float) -> NetworkError:
    """Classify a ``requests`` failure as a :class:`NetworkError` that holds no URL.

    ``sent=False`` only when the request surely never left: the TCP connection was refused or
    never established (``NewConnectionError``, which urllib3 raises before writing a byte;
    this includes an unknown host name), the connect phase timed out, or the certificate did
    not verify during the handshake. Everything else — a reset, a read timeout, a TLS error
    on an established connection — may have delivered the request.
    """
    chain = _chain(exc)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return NetworkError("CONNECTION_REFUSED", "the portal refused the connection",
                            method=method, sent=False)
    if _named(chain, "NameResolutionError") or any(isinstance(e, socket.gaierror)
                                                   for e in chain):
        return HostNotFoundError("HOST_NOT_FOUND", "the portal's host name does not resolve (a "
                            "typo in the URL, or no network)", method=method, sent=False)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or _named(
            chain, "CertificateError"):
        err = NetworkError("TLS_CERTIFICATE", "the portal's TLS certificate did not verify",
                           method=method, sent=False)
        err.transient = False  # asking again gets the same certificate
        return err
    if _named(chain, "NewConnectionError") or isinstance(exc, requests.exceptions.ConnectTimeout):
        timed_out = isinstance(exc, requests.exceptions.ConnectTimeout)
        return NetworkError(
            "CONNECT_TIMEOUT" if timed_out else "CONNECTION_FAILED",
            "connecting to the portal timed out" if timed_out
            else "could not connect to the portal",
            method=method, sent=False,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return NetworkError("TIMEOUT", f"no answer within {timeout:g} s", method=method)
    if isinstance(exc, requests.exceptions.SSLError):
        return NetworkError("TLS_ERROR", "the TLS connection to the portal failed",
                            method=method)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return NetworkError("CONNECTION_ERROR", "the connection was reset or dropped",
                            method=method)
    return NetworkError("REQUEST_ERROR", type(exc).__name__, method=method)
