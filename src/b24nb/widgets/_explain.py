"""Explanations in the grid: plain-word reasons, the per-field score breakdown, portal links.

Why apart from :mod:`._html`: these read the frame's *evidence* columns generically (every
``ev_*`` and ``lvl_*`` the matcher wrote, whatever they are), so a matcher that adds a field
shows up here without a change. The breakdown is the "explanations as data" rule on screen:
the same numbers the frame holds, drawn as a small waterfall.

Links are built from the portal's host only (``Portal.host``: scheme and host, never the
webhook path), so no URL on screen can hold a secret; :func:`portal_link` refuses anything
that is not a bare ``scheme://host[:port]``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

__all__ = [
    "EVIDENCE_PREFIXES",
    "breakdown_html",
    "header_html",
    "order_url",
    "owner_url",
    "plain_reasons",
    "portal_base",
]

EVIDENCE_PREFIXES = ("ev_", "lvl_")

#: columns holding the prior term or the total weight, when the matcher provides them
_PRIOR = ("prior", "match_prior")
_TOTAL = ("match_weight", "weight")

#: shorthand in ``reasons`` → plain words (applied in this order)
_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b([\w-]+) =(?=\s|$| ·)"), r"same \1"),
    (re.compile(r"\b([\w-]+) ≈ "), r"\1 close: "),
    (re.compile(r"№ in title"), "order number in the deal title"),
    (re.compile(r"Δ([+−-])"), r"differs by \1"),
)

_FIELD_NAMES = {"amount": "amount", "client": "contact/company", "email": "e-mail",
                "phone": "phone", "name": "name", "number": "order № in title",
                "date": "dates", "lag": "dates", "responsible": "manager",
                "currency": "currency", "prior": "prior (base rate)"}


def plain_reasons(text: Any) -> str:
    """``"amount = · e-mail = · +2 d"`` → ``"same amount · same e-mail · deal 2 day(s) +"``.

    The matcher writes short tokens; the grid spells them out. Unknown tokens pass through.
    """
    if text is None or text is pd.NA or (isinstance(text, float) and math.isnan(text)):
        return ""
    out = str(text)
    for pattern, words in _WORDS:
        out = pattern.sub(words, out)
    return _DAYS.sub(_days, out)


_DAYS = re.compile(r"([+−-])(\d+) d\b")


def _days(match: re.Match[str]) -> str:
    """``+3 d`` is the order's date minus the deal's: "order 3 days after the deal"."""
    n = int(match.group(2))
    unit = "day" if n == 1 else "days"
    return f"order {n} {unit} {'after' if match.group(1) == '+' else 'before'} the deal"


def portal_base(portal: Any) -> str | None:
    """``scheme://host[:port]`` of a portal for links, or None (no portal, odd host)."""
    host = getattr(portal, "host", None) if portal is not None else None
    if not isinstance(host, str) or not host:
        return None
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None  # a path could be a webhook's /rest/<user>/<secret>/: never link to it
    return f"{parts.scheme}://{parts.netloc}"


def owner_url(base: str | None, owner_id: Any, owner_type_id: Any = 2) -> str | None:
    """The portal page of a deal (type 2), smart invoice (31) or legacy invoice (5)."""
    if base is None or owner_id is None or owner_id is pd.NA or pd.isna(owner_id):
        return None
    kind = 2 if owner_type_id is None or owner_type_id is pd.NA else int(owner_type_id)
    path = {2: "crm/deal/details", 31: "crm/type/31/details", 5: "crm/invoice/show"}.get(kind)
    return None if path is None else f"{base}/{path}/{int(owner_id)}/"


def order_url(base: str | None, order_id: Any) -> str | None:
    """The online store's order page."""
    if base is None or order_id is None or order_id is pd.NA or pd.isna(order_id):
        return None
    return f"{base}/shop/orders/details/{int(order_id)}/"


def link(url: str | None, text: str, css: str) -> str:
    """An ``<a>`` opening in a new tab (``noopener``: the portal gets no handle on Jupyter)."""
    if url is None:
        return text
    return (f'<a class="{css}" href="{html.escape(url)}" target="_blank" '
            f'rel="noopener noreferrer" style="color:inherit;text-decoration:underline dotted">'
            f"{text}</a>")


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def breakdown_html(row: Mapping[str, Any]) -> str:
    """A small waterfall of the row's evidence: one bar per ``ev_*`` field, then the total.

    Positive evidence pushes right (green), negative left (red); the prior (when the frame
    has one) is the starting point. ``lvl_*`` agreement levels are listed beside their field.
    """
    evidence = [(k[3:], v) for k, v in row.items() if k.startswith("ev_")]
    evidence = [(name, _number(v)) for name, v in evidence]
    evidence = [(name, v) for name, v in evidence if v is not None]
    levels = {k[4:]: v for k, v in row.items() if k.startswith("lvl_")}
    prior = next((_number(row[k]) for k in _PRIOR if k in row), None)
    if not evidence:
        return ('<div class="b24nb-breakdown" style="color:#777">no per-field evidence in '
                "this frame</div>")
    steps = ([("prior", prior)] if prior is not None else []) + evidence
    total = sum(v for _, v in steps)
    given = next((_number(row[k]) for k in _TOTAL if k in row), None)
    total = given if given is not None else total
    running, lo, hi = 0.0, 0.0, 0.0
    spans = []
    for name, value in steps:
        start, running = running, running + value
        spans.append((name, value, start, running))
        lo, hi = min(lo, start, running), max(hi, start, running)
    lo, hi = min(lo, total), max(hi, total)
    width = (hi - lo) or 1.0
    lines = []
    for name, value, a, b in [*spans, ("total", total, 0.0, total)]:
        left = (min(a, b) - lo) / width * 100
        size = max(abs(b - a) / width * 100, 0.6)
        colour = ("#3b6fd8" if name == "total" else "#1e7e34" if value > 0
                  else "#c82333" if value < 0 else "#adb5bd")
        label = _FIELD_NAMES.get(name, name.replace("_", " "))
        level = levels.get(name)
        level_txt = ("" if level is None or level is pd.NA or
                     (isinstance(level, float) and math.isnan(level))
                     else f' <span style="color:#777">(level {html.escape(str(level))})</span>')
        weight = "font-weight:bold;" if name == "total" else ""
        lines.append(
            f'<div class="b24nb-ev" data-field="{html.escape(name)}" style="display:grid;'
            'grid-template-columns:11em 5em 1fr;gap:.6em;align-items:center;'
            f'{weight}"><span>{html.escape(label)}{level_txt}</span>'
            f'<span style="text-align:right">{value:+.2f}</span>'
            '<span style="position:relative;height:10px;background:#f1f3f5">'
            f'<span style="position:absolute;left:{left:.1f}%;width:{size:.1f}%;top:0;'
            f'bottom:0;background:{colour}"></span></span></div>')
    score = _number(row.get("score"))
    tail = "" if score is None else f" → score {score:.2f}"
    return ('<div class="b24nb-breakdown" style="font-size:11.5px;margin:4px 0 6px 3.4em;'
            'max-width:46em">'
            f'<div style="color:#555;margin-bottom:2px">evidence per field (weights add up '
            f"to the total{tail})</div>" + "".join(lines) + "</div>")


def header_html(grid_style: str) -> str:
    """Column headers, laid out with the same CSS grid as the rows."""
    names = ("score", "deal (opens in the portal)", "order (opens in the portal)",
             "why: evidence and warnings", "status")
    cells = "".join(f"<span>{html.escape(n)}</span>" for n in names)
    return (f'<div class="b24nb-header" style="{grid_style};font-weight:bold;color:#444;'
            f'border-bottom:2px solid #ccc">{cells}</div>')
