"""The portal's wire format: batch command strings, answer envelopes, read vs write.

Why its own module: these are pure functions over JSON shapes with well-known quirks (PHP
``a[b][]=v`` query strings inside ``batch``, empty sections sent as ``[]``, a list where PHP saw
keys 0..n-1, error codes as numbers or strings), and pure functions are easy to test on their
own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from b24nb.errors import NetworkError, PortalError, ServerError, error_from_response

__all__ = [
    "CommandResult",
    "Response",
    "encode_command",
    "int_or_none",
    "is_write",
    "normalize_section",
    "parse_answer",
    "php_query",
]


@dataclass(frozen=True)
class Response:
    """A single call's answer: ``result`` plus the list envelope and the ``time`` object."""

    result: Any
    total: int | None = None
    next: int | None = None
    time: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CommandResult:
    """One command of a batch: its result or its error, and its own time/total/next."""

    key: str
    method: str
    ok: bool
    result: Any = None
    error: PortalError | None = None
    time: dict[str, Any] = field(default_factory=dict)
    total: int | None = None
    next: int | None = None


_READ_SUFFIXES = (".list", ".get", ".fields", ".getfields")
_READ_METHODS = {"profile", "batch", "methods", "scope", "app.info", "user.current"}


def is_write(method: str) -> bool:
    """True for a method that may change data (anything but list/get/fields and profile).

    Why conservative: a method we wrongly call a read could be resent after its answer was lost
    and applied twice; a read wrongly called a write only loses an automatic retry.
    """
    m = method.strip().lower()
    return not (m in _READ_METHODS or m.endswith(_READ_SUFFIXES))


def _scalar(value: Any) -> str:
    if value is None:
        return ""  # fast_bitrix24 sends "None" here (its issue #156); PHP's null is empty
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}[{k}]" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    else:
        out.append((prefix, _scalar(value)))


def php_query(params: Mapping[str, Any]) -> str:
    """Encode params the way PHP's ``parse_str`` reads them back: ``a[b][0]=v&…``.

    ``$result[...]`` references stay readable (``$`` and brackets are left unescaped in
    values) so the server can find them by its regex after decoding, as with any other
    value.
    """
    pairs: list[tuple[str, str]] = []
    _flatten("", params, pairs)
    return "&".join(
        f"{quote(k, safe='[]')}={quote(v, safe='$[]')}" for k, v in pairs
    )


def encode_command(method: str, params: Mapping[str, Any] | None) -> str:
    """One batch command: ``method?query``."""
    query = php_query(params or {})
    return f"{method}?{query}" if query else method


def normalize_section(section: Any) -> dict[str, Any]:
    """A batch section as a dict: PHP sends ``[]`` when empty and a list for keys 0..n-1."""
    if isinstance(section, Mapping):
        return {str(k): v for k, v in section.items()}
    if isinstance(section, list):
        return {str(i): v for i, v in enumerate(section)}
    return {}


def parse_answer(status: int, body: Any, method: str) -> dict[str, Any]:
    """Return a successful envelope, or raise the :class:`PortalError` the answer means."""
    if isinstance(body, Mapping) and "error" in body and "result" not in body:
        raise error_from_response(
            body.get("error"),
            str(body.get("error_description") or ""),
            status=status,
            method=method,
        )
    if status == 200 and isinstance(body, Mapping) and "result" in body:
        return dict(body)
    if status >= 500 or status == 429:
        code = "INTERNAL_SERVER_ERROR" if status >= 500 else "OPERATION_TIME_LIMIT"
        if status == 503:
            code = "QUERY_LIMIT_EXCEEDED" if isinstance(body, Mapping) else "HTTP_503"
        err: PortalError = error_from_response(code, f"HTTP {status} without a JSON answer",
                                               status=status, method=method)
        if status >= 500 and not isinstance(err, (ServerError,)) and status != 503:
            err = ServerError(code, f"HTTP {status}", status=status, method=method)
        raise err
    if status in (301, 302, 307, 308):
        raise PortalError("REDIRECT", "the portal answered with a redirect (domain moved?)",
                          status=status, method=method)
    raise NetworkError("BAD_ANSWER", f"HTTP {status} with no usable JSON body",
                       status=status, method=method)


def command_error(err: Any, method: str) -> PortalError:
    """A per-command error of a batch (``result_error[key]``) as a :class:`PortalError`."""
    if isinstance(err, Mapping):
        code = err.get("error")
        desc = str(err.get("error_description") or "")
    else:
        code, desc = err, ""
    return error_from_response(code, desc, method=method)


def int_or_none(v: Any) -> int | None:
    try:
        return None if v is None or v == "" else int(v)
    except (TypeError, ValueError):
        return None
