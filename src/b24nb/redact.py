"""The one place that scrubs secrets out of text.

Why a module of its own: webhook URLs carry their secret in the path
(``/rest/1/<secret>/``) and OAuth calls carry ``auth=``/``access_token=``/``refresh_token=``/
``client_secret=`` parameters. Any of them can turn up inside an exception message, a log
line, a progress bar or a repr. Everything that formats such text calls :func:`redact`, and
code that knows a concrete secret registers it with :func:`register_secret` so that even an
unusual rendering of it is masked.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import urlsplit

__all__ = ["MASK", "RedactingFilter", "canonical_host", "protect_loggers", "redact",
           "redact_url", "register_secret"]

MASK = "***"

_PATTERNS = [
    # webhook path: /rest/<user id>/<secret>/
    (re.compile(r"(/rest/\d+/)[^/\s?#]+"), r"\1" + MASK),
    # key=value in query strings, form bodies and JSON-ish text
    (
        re.compile(
            r"(?i)((?:auth|access_token|refresh_token|client_secret|password|secret|token)"
            r"[\"']?\s*[=:]\s*[\"']?)[^&\s\"',}]+"
        ),
        r"\1" + MASK,
    ),
    # Authorization: Bearer <token>
    (re.compile(r"(?i)(bearer\s+)[^\s\"',}]+"), r"\1" + MASK),
]

_known: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a concrete secret so :func:`redact` masks it wherever it appears.

    Short values are ignored: masking every "1" in a message would destroy it, and a
    secret that short is not a secret.
    """
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


def redact(text: object) -> str:
    """Return ``text`` as a string with every secret-looking part replaced by ``***``."""
    s = str(text)
    for pattern, repl in _PATTERNS:
        s = pattern.sub(repl, s)
    if _known:
        with _lock:
            known = sorted(_known, key=len, reverse=True)
        for secret in known:
            if secret in s:
                s = s.replace(secret, MASK)
    return s


def redact_url(url: object) -> str:
    """A URL safe to show in a message: scheme, host and port only, the path masked.

    Why not :func:`redact`: its patterns know the webhook shape ``/rest/<digits>/<secret>``,
    but a mistyped URL (``/rest/admin/<secret>/``, a secret in ``user:pass@``) is exactly the
    one that reaches an error message. Here nothing after the host survives except the
    ``/rest/`` marker that tells the user which part was meant.
    """
    text = str(url).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return MASK
    rest = "/rest/" in text
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number, or out of range
        port = ":" + MASK
    if not parts.scheme or not host:
        # no scheme ("portal.bitrix24.com/rest/1/…"): the first segment is still the host
        first = text.split("/", 1)[0].rsplit("@", 1)[-1]
        if re.fullmatch(r"[\w.-]+(:\d+)?", first):
            return first + ("/rest/" + MASK + "/" if rest else "/" + MASK)
        return MASK
    path = ("/rest/" + MASK + "/" if rest else "/" + MASK if parts.path.strip("/") else "/")
    return f"{parts.scheme}://{host}{port}{path}"


_DEFAULT_PORTS = {"https": 443, "http": 80}


def canonical_host(host: object) -> str:
    """``scheme://host[:port]`` in one spelling per portal, with no path, user or secret.

    Why: the journal keys its ledgers by portal; ``https://X.bitrix24.ru:443``,
    ``https://x.bitrix24.ru.`` and ``https://x.bitrix24.ru`` are one portal and must share
    one ledger, or a rerun through another spelling would not see what the first one did.
    The scheme and host are lower-cased, a trailing dot and the scheme's default port
    dropped; ``localhost`` becomes ``127.0.0.1`` (the sandbox's two names). Anything after
    the host (a webhook path) is never kept. A value without a scheme is read as ``https``.
    """
    text = str(host).strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return redact_url(text).rstrip("/")
    scheme = (parts.scheme or "https").lower()
    name = (parts.hostname or "").rstrip(".").lower()
    if name == "localhost":
        name = "127.0.0.1"
    if ":" in name:  # an IPv6 literal keeps its brackets
        name = f"[{name}]"
    shown = "" if port is None or port == _DEFAULT_PORTS.get(scheme) else f":{port}"
    return f"{scheme}://{name}{shown}"


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites a record's message (and traceback) through redact().

    Why: urllib3 logs every request line at DEBUG — ``"POST /rest/1/<secret>/batch"`` and,
    for the OAuth refresh, ``"GET /oauth/token/?client_secret=…&refresh_token=…"``. A user
    who turns on DEBUG logging to see what the client does must not get the credentials in
    the output. The filter never drops a record; it only masks it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
            record.exc_info = None  # the traceback's frames hold the URL in their locals
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()
#: third-party loggers that see URLs, query strings or request bodies
_THIRD_PARTY = ("urllib3", "requests", "charset_normalizer")


def protect_loggers(prefixes: tuple[str, ...] = _THIRD_PARTY) -> None:
    """Attach the redacting filter to every logger under ``prefixes`` (idempotent).

    A logger's filters see only the records created on that very logger, not those
    propagated from its children, so each existing child logger gets the filter too.
    """
    names = set(prefixes)
    names.update(n for n in list(logging.Logger.manager.loggerDict)
                 if any(n == p or n.startswith(p + ".") for p in prefixes))
    for name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.response",
                 "urllib3.poolmanager", "urllib3.util.retry"):
        names.add(name)
    for name in sorted(names):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
