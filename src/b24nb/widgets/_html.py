"""HTML fragments of the review grid: one row, the histogram, the summary, the confirmation.

Why plain HTML strings: one ``HTML`` widget per row carrying every column costs one comm
message per row per page, instead of one per cell (research notebook-ux.md §A.3), and plain
HTML/CSS renders the same in JupyterLab, Notebook 7, VS Code, Colab and Voila. Every value
from the frame passes through :func:`html.escape`, and messages from the portal through
:func:`b24nb.redact.redact`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from b24nb.pairs import LEGACY_INVOICE, OPEN, OWNER_NAMES, SMART_INVOICE
from b24nb.redact import redact
from b24nb.widgets._explain import (
    breakdown_html,
    link,
    order_url,
    owner_url,
    plain_reasons,
)

__all__ = ["GRID_STYLE", "ROW_COLUMNS", "STATUS_COLOURS", "confirm_html", "error_html",
           "histogram_html", "message_html", "row_html", "status_badge", "summary_html"]

#: bind_status -> (background, text colour); the colour is the status at a glance
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "bound": ("#1e7e34", "#fff"),
    "already_bound": ("#2e8b57", "#fff"),
    "rebound": ("#117a8b", "#fff"),
    "pending": ("#e0a800", "#000"),
    "needs_rebind": ("#fd7e14", "#000"),
    "failed": ("#c82333", "#fff"),
    "skipped": ("#6c757d", "#fff"),
    "dry_run": ("#3b6fd8", "#fff"),
    "unbound": ("#495057", "#fff"),
}

#: the columns a row shows; only these are taken from the frame per page
ROW_COLUMNS: tuple[str, ...] = (
    "deal_id", "order_id", "score", "reasons", "deal_title", "deal_amount", "deal_date",
    "order_number", "order_amount", "order_date", "currency", "customer", "current_owner_id",
    "current_owner_type_id", "current_owner_auto", "rebind", "ambiguous", "selected",
    "bind_status", "bind_error", "bind_message", "owner_type_id", "decision",
)

#: decision -> (label, colour) of its badge in a row
DECISION_BADGES: dict[str, tuple[str, str]] = {
    "accept": ("accepted", "#1e7e34"), "unsure": ("unsure", "#b8860b"),
    "reject": ("rejected", "#c82333"),
}

#: the columns of one row; the header above the rows uses them too, so the two line up
GRID_STYLE = ("display:grid;grid-template-columns:3.4em minmax(11em,1.2fr) minmax(11em,1.2fr) "
              "minmax(10em,1.3fr) 8.5em;gap:0 .8em;align-items:center;font-size:12.5px;"
              "line-height:1.3;width:100%")


def _e(value: Any) -> str:
    """Escape one value for HTML; missing values become an em dash."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if value is pd.NaT:
        return "—"
    return html.escape(str(value))


def _money(value: Any) -> str:
    try:
        return f"{float(value):,.2f}".replace(",", " ")
    except (TypeError, ValueError):
        return "—"


def _date(value: Any) -> str:
    if value is None or value is pd.NaT or value is pd.NA:
        return "—"
    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return _e(value)


def status_badge(status: Any) -> str:
    """A coloured pill for ``bind_status`` (``not sent`` while NA)."""
    if status is None or status is pd.NA:
        return ('<span class="b24nb-status b24nb-status-none" style="color:#6c757d">'
                "not sent</span>")
    text = str(status)
    bg, fg = STATUS_COLOURS.get(text, ("#adb5bd", "#000"))
    return (f'<span class="b24nb-status b24nb-status-{_e(text)}" style="background:{bg};'
            f'color:{fg};border-radius:8px;padding:1px 7px;white-space:nowrap">{_e(text)}</span>')


def _score_colour(score: float) -> str:
    if score >= 0.85:
        return "#1e7e34"
    if score >= 0.6:
        return "#b8860b"
    return "#c82333"


def _portal_text(message: str) -> str:
    """The portal's words for the grid: the code hint becomes the checkbox's name."""
    return (message.replace("pass allow_rebind=True", "tick 'allow rebind'")
            .replace("allow_rebind=True", "'allow rebind' ticked"))


def row_html(row: Mapping[str, Any], *, pair_id: Any, blocked_by: Any = None,
             base: str | None = None) -> str:
    """Render one pair as a grid line (score, deal, order, reasons, status) and, folded
    under it, the per-field breakdown of its score.

    ``blocked_by`` is the pair id holding this pair's order (ticked or bound), which greys the
    row out: an order can have one owner only. ``base`` is the portal's ``scheme://host``
    for links (never a webhook URL).
    """
    score = row.get("score")
    score_txt = "—" if score is None or pd.isna(score) else f"{float(score):.2f}"
    colour = "#6c757d" if score_txt == "—" else _score_colour(float(score))
    kind = row.get("owner_type_id")
    # an invoice of either kind is "invoice" in the row's link text, like the portal says it
    noun = "deal" if kind is None or kind is pd.NA or int(kind) not in (
        LEGACY_INVOICE, SMART_INVOICE) else "invoice"
    deal_link = link(owner_url(base, row.get("deal_id"), kind),
                     f"{noun} {_e(row.get('deal_id'))}", "b24nb-deal-link")
    order_link = link(order_url(base, row.get("order_id")),
                      f'order {_e(row.get("order_number", row.get("order_id")))}',
                      "b24nb-order-link")
    deal = (f'<b>{deal_link}</b> {_e(row.get("deal_title"))}<br>'
            f'<span style="color:#555">{_money(row.get("deal_amount"))} '
            f'{_e(row.get("currency"))} · {_date(row.get("deal_date"))}</span>')
    order = (f'<b>{order_link}</b> '
             f'<span style="color:#777">#{_e(row.get("order_id"))}</span> '
             f'{_e(row.get("customer"))}<br><span style="color:#555">'
             f'{_money(row.get("order_amount"))} · {_date(row.get("order_date"))}</span>')
    notes = [f'<span style="color:#333">{_e(plain_reasons(row.get("reasons")))}</span>']
    if bool(row.get("ambiguous") is True):
        notes.append('<span style="color:#b8860b">ambiguous: close second candidate</span>')
    if bool(row.get("rebind") is True):
        notes.append(
            '<span class="b24nb-rebind" style="color:#c25e00">⚠ order bound to '
            f'{_e(_owner_text(row))} today; binding moves it</span>')
    if blocked_by is not None:
        notes.append(f'<span class="b24nb-blocked">order taken by pair {_e(blocked_by)}</span>')
    error = row.get("bind_error")
    message = row.get("bind_message")
    if row.get("bind_status") in OPEN and not (
            message is None or message is pd.NA):
        code = "" if error is None or error is pd.NA else f"{error}: "
        notes.append(f'<span style="color:#c82333">'
                     f'{_e(_portal_text(redact(code + str(message))))}</span>')
    decision = row.get("decision")
    badge = ""
    if isinstance(decision, str) and decision in DECISION_BADGES:
        text, colour = DECISION_BADGES[decision]
        badge = (f'<br><span class="b24nb-decision b24nb-decision-{decision}" '
                 f'style="color:{colour};font-weight:bold">{text}</span>')
    dim = blocked_by is not None or decision == "reject"
    style = GRID_STYLE + (";opacity:.42" if dim else "")
    return (f'<div class="b24nb-row" data-pair-id="{_e(pair_id)}" '
            f'data-deal-id="{_e(row.get("deal_id"))}" data-order-id="{_e(row.get("order_id"))}" '
            f'style="{style}">'
            f'<span style="font-weight:bold;color:{colour}">{score_txt}</span>'
            f"<span>{deal}</span><span>{order}</span><span>{'<br>'.join(notes)}</span>"
            f"<span>{status_badge(row.get('bind_status'))}{badge}</span></div>"
            '<details class="b24nb-why"><summary style="cursor:pointer;color:#3b6fd8;'
            'font-size:11.5px;margin-left:3.4em">why this score</summary>'
            f"{breakdown_html(row)}</details>")


def _owner_text(row: Mapping[str, Any]) -> str:
    owner = row.get("current_owner_id")
    kind = row.get("current_owner_type_id")
    name = "owner" if kind is None or kind is pd.NA else OWNER_NAMES.get(int(kind), "owner")
    auto = " (auto-created)" if row.get("current_owner_auto") is True else ""
    return f"{name} {owner}{auto}"


def histogram_html(counts: np.ndarray, band: tuple[float, float], threshold: float) -> str:
    """Score histogram as CSS bars; bins inside the score band are coloured."""
    peak = max(int(counts.max()) if len(counts) else 0, 1)
    width = 1.0 / max(len(counts), 1)
    bars = []
    for i, n in enumerate(counts):
        lo, hi = i * width, (i + 1) * width
        inside = hi > band[0] + 1e-9 and lo < band[1] - 1e-9
        colour = ("#1e7e34" if lo >= threshold - 1e-9 else "#4a78c2") if inside else "#ccd"
        height = max(1, round(36 * int(n) / peak)) if n else 0
        bars.append(f'<div title="{lo:.2f}–{hi:.2f}: {int(n):,}" style="width:9px;'
                    f'height:{height}px;background:{colour}"></div>')
    return ('<div class="b24nb-histogram" style="display:flex;align-items:flex-end;gap:1px;'
            'height:38px;border-bottom:1px solid #999" title="scores 0 → 1">'
            + "".join(bars) + "</div>"
            '<div style="font-size:10px;color:#777;display:flex;justify-content:space-between;'
            'width:200px"><span>0</span><span>score</span><span>1</span></div>')


def summary_html(counts: Mapping[str, int], in_view: int) -> str:
    """One line of counts: pairs, orders, in view, selected, then each bind status; then how
    far the review is ("137 of 886 orders reviewed")."""
    head = [f"<b>{counts.get('pairs', 0):,}</b> pairs", f"{counts.get('orders', 0):,} orders",
            f"{in_view:,} in view", f"<b>{counts.get('selected', 0):,}</b> selected"]
    if counts.get("rebind warning"):
        head.append(f"{counts['rebind warning']:,} bound elsewhere")
    tail = [f"{status_badge(s)} {counts[s]:,}" for s in STATUS_COLOURS if counts.get(s)]
    decided = [f"{counts[k]:,} {k}" for k in ("accepted", "unsure", "rejected") if counts.get(k)]
    progress = ""
    if "reviewed" in counts:
        progress = ('<div class="b24nb-progress-line"><b>'
                    f"{counts['reviewed']:,} of {counts.get('orders', 0):,}</b> orders reviewed"
                    + (f" ({', '.join(decided)})" if decided else "") + "</div>")
    return ('<div class="b24nb-summary" style="font-size:12.5px">'
            + " · ".join(head + tail) + progress + "</div>")


def confirm_html(action: str, n: int, *, dry_run: bool, rebinds: int, allow_rebind: bool,
                 portal: str, preview: Sequence[str]) -> str:
    """The confirmation box: what will be sent, where, and what happens to rebinds."""
    mode = "<b>dry run</b>: nothing is written" if dry_run else "<b>writes to the portal</b>"
    lines = [f"<b>{_e(action)}</b>: {n:,} pair(s) on {_e(redact(portal))} — {mode}."]
    if rebinds:
        lines.append(f"{n - rebinds:,} new binding(s) of orders without an owner; "
                     f"<b>{rebinds:,} rebind(s)</b> of orders bound elsewhere today.")
    if rebinds:
        what = ("they will be moved (the journal keeps the old owner for undo)" if allow_rebind
                else "they will be marked needs_rebind and not sent (tick 'allow rebind')")
        lines.append(f"⚠ {rebinds:,} order(s) are bound to another owner today: {what}.")
    if preview:
        lines.append("<br>".join(_e(p) for p in preview))
    return ('<div class="b24nb-confirm" style="border:1px solid #e0a800;background:#fff8e1;'
            'padding:6px 10px;font-size:12.5px">' + "<br>".join(lines) + "</div>")


def message_html(text: str) -> str:
    """One line under the grid; ``text`` is HTML already escaped."""
    return f'<div class="b24nb-message">{text}</div>'


def error_html(exc: BaseException) -> str:
    """An error under the grid, in red: its class and message, secrets redacted."""
    text = html.escape(redact(f"{type(exc).__name__}: {exc}"))
    return f'<div class="b24nb-error" style="color:#c82333;white-space:pre-wrap">{text}</div>'
