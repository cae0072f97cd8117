"""PHP semantics the Bitrix24 server applies to its input and output.

The server is PHP, and clients see PHP's casting and encoding rules at the edges: ``(int)``
casts of IDs, ``parse_str`` of batch commands and form bodies, and ``json_encode`` turning an
array with keys 0..n-1 into a JSON list (and an empty array into ``[]``). Emulating them here,
in one place, keeps the sandbox honest about the quirks a client must survive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote_plus

__all__ = [
    "JSON_DEPTH",
    "MAX_NESTING",
    "PORTAL_TZ",
    "format_date",
    "format_datetime",
    "parse_datetime",
    "parse_str",
    "php_array",
    "php_bool",
    "php_float",
    "php_int",
]

#: The portal's time zone: a Russian-first product, so Moscow time, as PHP ``date('c')`` shows.
PORTAL_TZ = timezone(timedelta(hours=3))

#: PHP's ``max_input_nesting_level`` (form and query variables) and ``json_decode``'s depth
MAX_NESTING = 64
JSON_DEPTH = 512

_INT_PREFIX = re.compile(r"^\s*[+-]?\d+")
_FLOAT_PREFIX = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def php_int(value: Any) -> int:
    """Cast like PHP ``(int)``: ``"12abc"`` → 12, ``"abc"`` → 0, ``[1]`` → 1, ``[]`` → 0."""
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if isinstance(value, int):
        # json_decode reads a number beyond PHP_INT_MAX as a float, and (int) of an
        # out-of-range float is 0 on 64-bit PHP
        return value if -(2**63) <= value < 2**63 else 0
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 2**63 else 0
    if isinstance(value, (list, tuple, dict)):
        return 1 if value else 0
    text = str(value)
    m = _FLOAT_PREFIX.match(text)
    if m is None:
        return 0
    # PHP 7+ casts numeric-leading strings through their numeric value ("1e3" → 1000)
    try:
        number = float(m.group(0))
    except ValueError:  # pragma: no cover - the regex only matches numbers
        return 0
    if "e" in m.group(0).lower() or "." in m.group(0):
        return int(number) if abs(number) < 2**63 else 0
    im = _INT_PREFIX.match(text)
    # a digit string beyond the range saturates, as PHP's strtol-based cast does
    return max(-(2**63), min(2**63 - 1, int(im.group(0)))) if im else 0


def php_float(value: Any) -> float:
    """Cast like PHP ``(float)``: the numeric prefix of a string, else 0.0."""
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple, dict)):
        return 1.0 if value else 0.0
    m = _FLOAT_PREFIX.match(str(value).replace(",", "."))
    return float(m.group(0)) if m else 0.0


def php_bool(value: Any) -> bool:
    """Cast like PHP ``(bool)``: ``"0"`` and ``""`` are false, the string ``"false"`` is true."""
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)


def php_array(section: Mapping[Any, Any]) -> Any:
    """Shape a PHP array as ``json_encode`` would: sequential 0..n-1 keys give a JSON list.

    Numeric-string keys are integers in PHP, so ``{"0": a, "1": b}`` is a list too; an empty
    array is ``[]``, never ``{}`` — batch clients must cope with both shapes.
    """
    if not section:
        return []
    for i, key in enumerate(section):
        if str(key) != str(i):
            return dict(section.items())
    return list(section.values())


def parse_str(query: str) -> dict[str, Any]:
    """Parse a query string like PHP ``parse_str``: ``a[b][]=1&a[b][]=2`` → nested dicts/lists.

    Lists are represented as dicts with ``"0","1",…`` keys while building, then collapsed
    with the same rule ``json_encode`` uses, so a handler sees what a JSON body would give.
    """
    root: dict[str, Any] = {}
    if not query:
        return root
    for pair in query.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = unquote_plus(raw_key)
        value = unquote_plus(raw_value)
        if not key:
            continue
        bracket = key.find("[")
        if bracket <= 0:
            if bracket == 0:
                continue
            root[key] = value
            continue
        head = key[:bracket]
        parts = re.findall(r"\[([^\]]*)\]", key[bracket:])
        if len(parts) >= MAX_NESTING:
            continue  # PHP drops a variable nested deeper than max_input_nesting_level
        node: dict[str, Any] = root
        path = [head, *parts]
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if part == "" and i > 0:
                numeric = [int(k) for k in node if isinstance(k, str) and k.isdigit()]
                part = str(max(numeric) + 1 if numeric else 0)
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return _collapse(root)


def _collapse(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _collapse(v) for k, v in node.items()}
        if out and all(str(k) == str(i) for i, k in enumerate(out)):
            return list(out.values())
        return out
    return node


def parse_datetime(value: Any) -> float | None:
    """Turn an API date or datetime (ISO 8601, ``YYYY-MM-DD``, ``DD.MM.YYYY``) into Unix time.

    Values without an offset are read in the portal's time zone, as the server does.
    Returns ``None`` for empty or unreadable values.
    """
    if value is None or value == "" or value is False:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=PORTAL_TZ)
        return dt.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=PORTAL_TZ).timestamp()
    if type(value) is str:
        # fast path: ISO 8601 is what the API and the demo data use
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return (dt if dt.tzinfo else dt.replace(tzinfo=PORTAL_TZ)).timestamp()
    text = str(value).strip()
    if hasattr(value, "isoformat") and not isinstance(value, str):  # pandas Timestamp etc.
        text = value.isoformat()
    m = re.match(r"^(\d{2})\.(\d{2})\.(\d{4})(?:\s+(\d{2}):(\d{2})(?::(\d{2}))?)?$", text)
    if m:
        d, mo, y, hh, mm, ss = m.groups()
        dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0),
                      tzinfo=PORTAL_TZ)
        return dt.timestamp()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=PORTAL_TZ)
    return dt.timestamp()


def format_datetime(ts: float | None) -> str | None:
    """Format Unix time like PHP ``date('c')`` in the portal's zone.

    Example: ``2025-09-09T16:31:11+03:00``.
    """
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), tz=UTC).astimezone(PORTAL_TZ).isoformat()


def format_date(ts: float | None) -> str | None:
    """Format a date field the way CRM does: midnight in the portal's zone, ISO with offset."""
    if ts is None:
        return None
    local = datetime.fromtimestamp(int(ts), tz=UTC).astimezone(PORTAL_TZ)
    return local.replace(hour=0, minute=0, second=0).isoformat()
