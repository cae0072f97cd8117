"""Pictures of a review: score distribution by outcome, and what was bound, failed, held back.

Why matplotlib: it is well kept, renders as a static PNG in every notebook front end (and in
an exported .ipynb/HTML), and needs no JavaScript. It is an optional dependency
(``pip install 'b24nb[charts]'``); importing this module without it says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b24nb.errors import ValidationError
from b24nb.report import run_summary

__all__ = ["plot_outcomes", "plot_scores"]

#: outcome → colour, shared by both charts so a colour means the same thing in each
_COLOURS = {"bound": "#1e7e34", "rebound": "#117a8b", "already_bound": "#2e8b57",
            "dry_run": "#3b6fd8", "failed": "#c82333", "needs_rebind": "#fd7e14",
            "skipped": "#6c757d", "pending": "#e0a800", "unbound": "#495057",
            "not sent": "#b0b7c3"}


def _pyplot() -> Any:
    try:
        import matplotlib

        if matplotlib.get_backend().lower().startswith("tk"):  # headless kernels, CI
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValidationError("charts need matplotlib: pip install 'b24nb[charts]'") from None
    return plt


def _outcome(pairs: pd.DataFrame) -> pd.Series:
    if "bind_status" not in pairs.columns:
        return pd.Series("not sent", index=pairs.index)
    return pairs["bind_status"].astype("string").fillna("not sent")


def plot_scores(pairs: pd.DataFrame, *, bins: int = 20, ax: Any = None) -> Any:
    """Stacked histogram of ``score`` by outcome, each bar labelled with its count.

    Returns the matplotlib Figure (a notebook shows it as the cell's value).
    """
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
    else:
        fig = ax.figure
    score = pairs["score"].to_numpy(dtype=float, na_value=np.nan)
    outcome = _outcome(pairs).to_numpy()
    edges = np.linspace(0.0, 1.0, bins + 1)
    bottom = np.zeros(bins)
    for name in [*_COLOURS, *sorted(set(outcome) - set(_COLOURS))]:
        mask = (outcome == name) & ~np.isnan(score)
        if not mask.any():
            continue
        counts, _ = np.histogram(score[mask], bins=edges)
        ax.bar(edges[:-1], counts, width=np.diff(edges), bottom=bottom, align="edge",
               color=_COLOURS.get(name, "#999"), edgecolor="white", linewidth=0.5,
               label=f"{name} ({int(mask.sum()):,})")
        bottom += counts
    for x, total in zip(edges[:-1], bottom, strict=True):
        if total:
            ax.annotate(f"{int(total):,}", (x + (edges[1] - edges[0]) / 2, total),
                        ha="center", va="bottom", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("score (calibrated match probability)")
    ax.set_ylabel("pairs")
    ax.set_title(f"Scores of {len(pairs):,} suggested pairs, by outcome")
    ax.legend(frameon=False, fontsize=8)
    return fig


def plot_outcomes(pairs: pd.DataFrame, *, ax: Any = None) -> Any:
    """Horizontal bars of pairs per outcome (bound, failed, held back…) with their amounts.

    Returns the matplotlib Figure.
    """
    plt = _pyplot()
    summary = run_summary(pairs)
    if summary.index.nlevels > 1:  # several currencies: one bar per outcome, amounts summed
        summary = summary.groupby(level=0, sort=False).sum()
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 0.5 + 0.42 * max(len(summary), 1)),
                               layout="constrained")
    else:
        fig = ax.figure
    labels = [str(k) for k in summary.index]
    colours = [_COLOURS.get(k.split(",")[0], "#8a94a6") for k in labels]
    y = np.arange(len(labels))
    ax.barh(y, summary["pairs"].to_numpy(), color=colours)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    peak = max(int(summary["pairs"].max()) if len(summary) else 0, 1)
    for i, (n, amount) in enumerate(zip(summary["pairs"], summary["order_amount"],
                                        strict=True)):
        text = f" {int(n):,} pairs · {amount:,.0f}".replace(",", " ")
        ax.annotate(text, (n, i), va="center", fontsize=8)
    ax.set_xlim(0, peak * 1.35)
    ax.set_xlabel("pairs (and the orders' total amount)")
    ax.set_title("What happened to the suggestions")
    return fig
