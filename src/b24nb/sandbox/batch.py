"""``batch``: up to 50 commands per request, run in order, chained by ``$result[…]`` references.

Commands are ``"method?query"`` strings parsed with PHP ``parse_str``. Before each command
runs, every parameter value is scanned for ``$result[key][path…]`` (also ``$next``,
``$total``, ``$time``, ``$error``). A value that *is* a reference becomes the raw referenced
value; a reference inside text is replaced by its string form. When a path segment is missing
the walk stops at the last level it reached and substitutes that partial value — the server's
rule, and the reason a chained ``>ID`` walk over a short page gets an array, not an ID.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .api import Answer, ApiError, param
from .php import parse_str, php_array, php_bool

__all__ = ["MAX_COMMANDS", "parse_command", "run_batch", "substitute"]

MAX_COMMANDS = 50
_REF = re.compile(r"\$(result|next|total|time|error)([^\s]*)", re.IGNORECASE)
_SEGMENT = re.compile(r"\[([^\]]+)\]")


def parse_command(text: Any) -> tuple[str, dict[str, Any]]:
    """Split ``"crm.deal.list?filter[>ID]=5"`` into the lower-cased method and its params."""
    method, _, query = str(text).partition("?")
    method = method.strip().lower()
    if method.endswith(".json"):
        method = method[:-5]
    return method, parse_str(query)


def _walk(section: Any, path: str) -> Any:
    node = section
    for seg in _SEGMENT.findall(path):
        if isinstance(node, Mapping) and seg in node:
            node = node[seg]
        elif isinstance(node, list) and seg.isdigit() and int(seg) < len(node):
            node = node[int(seg)]
        else:
            break  # partial path: keep the last level reached
    return node


def _as_text(value: Any) -> str:
    if value is True:
        return "1"
    if value is None or value is False:
        return ""
    if isinstance(value, (list, dict)):
        return "Array"
    return str(value)


def substitute(value: Any, sections: Mapping[str, Mapping[str, Any]]) -> Any:
    """Replace ``$result[…]``-style references in ``value`` (recursively) from ``sections``."""
    if isinstance(value, dict):
        return {k: substitute(v, sections) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, sections) for v in value]
    if not isinstance(value, str) or "$" not in value:
        return value
    matches = list(_REF.finditer(value))
    if not matches:
        return value
    if len(matches) == 1 and matches[0].group(0) == value:
        m = matches[0]
        return _walk(sections[m.group(1).lower()], m.group(2))
    out = value
    for m in matches:
        out = out.replace(m.group(0), _as_text(_walk(sections[m.group(1).lower()], m.group(2))))
    return out


def run_batch(params: Mapping[str, Any], call: Callable[[str, dict[str, Any]], tuple[Answer, dict]]
              ) -> dict[str, Any]:
    """Execute a batch; ``call(method, params)`` runs one command or raises ApiError."""
    cmd = param(params, "cmd") or {}
    halt = php_bool(param(params, "halt", False))
    if isinstance(cmd, list):
        cmd = {str(i): c for i, c in enumerate(cmd)}
    if not isinstance(cmd, Mapping):
        cmd = {}
    sections: dict[str, dict[str, Any]] = {k: {} for k in
                                           ("result", "error", "total", "next", "time")}
    for n, (raw_key, text) in enumerate(cmd.items()):
        key = str(raw_key)
        if n >= MAX_COMMANDS:
            sections["error"][key] = {"error": "ERROR_BATCH_LENGTH_EXCEEDED",
                                      "error_description": "Max batch length exceeded"}
            continue
        method, sub_params = parse_command(text)
        sub_params = substitute(sub_params, sections)
        try:
            if method in ("batch", "download", "upload"):
                raise ApiError("ERROR_BATCH_METHOD_NOT_ALLOWED",
                               "Method is not allowed for batch usage")
            answer, timing = call(method, sub_params)
        except ApiError as err:
            sections["error"][key] = err.body()
            if halt:
                break
            continue
        sections["result"][key] = answer.result
        if answer.total is not None:
            sections["total"][key] = answer.total
        if answer.next is not None:
            sections["next"][key] = answer.next
        sections["time"][key] = timing
    return {"result": php_array(sections["result"]),
            "result_error": php_array(sections["error"]),
            "result_total": php_array(sections["total"]),
            "result_next": php_array(sections["next"]),
            "result_time": php_array(sections["time"])}
