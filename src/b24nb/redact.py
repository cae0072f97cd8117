"""The one place that scrubs secrets out of text.

Why a module of its own: webhook URLs carry their secret in the path
(``/rest/1/<secret>/``) and OAuth calls carry ``auth=``/``access_token=``/``refresh_token=``/
``client_secret=`` parameters. Any of them can turn up inside an exception message, a log
line, a progress bar or a repr. Everything that formats such text calls :func:`redact`, and
code that knows a concrete secret registers it with :func:`register_secret` so that even an
unusual rendering of it is masked.
"""

from __future__ import annotations

import re
import threading

__all__ = ["MASK", "redact", "register_secret"]

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
