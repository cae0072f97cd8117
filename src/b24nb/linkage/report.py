"""``health()``: the portal's order linkage as a whole, as findings with their rows and charts.

Why: before ticking pairs one by one, an analyst wants to know the size of each problem —
how many orders are bound to nothing, how many sit on auto-created duplicates, which
bindings point at owners that were deleted, where amounts, currencies or customers disagree —
and, after binding, what changed. The report only reads: it never writes to the portal.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from b24nb.linkage.findings import FINDINGS, compute
from b24nb.linkage.frames import (
    Inputs,
    auto_created_deals,
    existing_owners,
    gather,
    owners_table,
)
from b24nb.linkage.svg import health_svg

__all__ = ["HealthReport", "health"]

log = logging.getLogger(__name__)


@dataclass
class HealthReport:
    """Findings of :func:`health`: ``report["unowned"]`` is a frame of the rows that show it.

    Attributes
    ----------
    findings : dict of str to DataFrame
        One frame per finding (see :data:`b24nb.linkage.findings.FINDINGS`), indexed by
        ``order_id`` (``many_orders``: by ``(owner_type_id, owner_id)``).
    summary : DataFrame
        ``finding``, ``count``, ``what``: one row per finding.
    links : DataFrame
        Every order with its current owner and the owner's facts.
    suggestions : DataFrame
        The ``suggest()`` pairs the report used (empty when suggestions were off).
    options : dict
        The thresholds used (``amount_tol``, ``many``…).
    """

    findings: dict[str, pd.DataFrame]
    summary: pd.DataFrame
    links: pd.DataFrame
    suggestions: pd.DataFrame
    options: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.findings:
            raise KeyError(f"no finding {name!r}; there are {', '.join(self.findings)}")
        return self.findings[name]

    def __iter__(self):
        return iter(self.findings)

    def counts(self) -> dict[str, int]:
        """``{finding: rows}``."""
        return {k: len(v) for k, v in self.findings.items()}

    def order_ids(self, name: str) -> list[int]:
        """The orders a finding is about (for ``many_orders``: every order of those owners)."""
        frame = self[name]
        if name == "many_orders":
            return sorted(int(i) for s in frame["order_ids"].dropna() for i in str(s).split(";"))
        return sorted(int(i) for i in frame.index)

    def pairs(self, name: str) -> pd.DataFrame:
        """The suggested pairs for a finding's orders: hand it to :func:`b24nb.review`.

        For ``auto_created`` these are the real deals suggested for orders on duplicates (a
        rebind, never pre-ticked); for ``unowned`` the candidates of orders bound to nothing;
        for the others, any better owner the matcher found. A copy: ticking it does not
        change the report.
        """
        ids = set(self.order_ids(name))
        p = self.suggestions
        if not len(p):
            return p.copy()
        return p[p["order_id"].isin(ids).to_numpy(bool)].copy()

    def compare(self, before: HealthReport) -> pd.DataFrame:
        """What changed since ``before``: per finding, counts and the orders fixed and new."""
        rows = []
        for name in FINDINGS:
            old, new = set(before.order_ids(name)), set(self.order_ids(name))
            rows.append({"finding": name, "before": len(before[name]), "after": len(self[name]),
                         "resolved": len(old - new), "new": len(new - old),
                         "resolved_orders": ";".join(map(str, sorted(old - new))),
                         "new_orders": ";".join(map(str, sorted(new - old)))})
        out = pd.DataFrame(rows).set_index("finding")
        out["change"] = out["after"] - out["before"]
        return out

    # ------------------------------------------------------------------ display
    def _gaps_pct(self) -> pd.Series:
        """The amount mismatches' gaps, % of the owner's amount (both charts draw them)."""
        return self["amount_mismatch"]["rel_diff"].dropna() * 100

    def _orders_per_owner(self) -> pd.Series:
        """How many owners hold 1, 2, 3 … orders (index: orders on one owner)."""
        per_owner = self.links.dropna(subset=["owner_id"]).groupby(
            ["owner_type_id", "owner_id"]).size()
        return per_owner.value_counts().sort_index()

    def figure(self, before: HealthReport | None = None) -> Any:
        """A matplotlib Figure: counts per finding (and before, if given), amount gaps,
        orders per owner. Built without pyplot, so it touches no global figure state."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(12, 3.6), layout="constrained")
        ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=(1.4, 1, 1))
        names = list(FINDINGS)[::-1]
        now = [len(self[n]) for n in names]
        y = range(len(names))
        if before is not None:
            ax1.barh([i + 0.2 for i in y], [len(before[n]) for n in names], height=0.4,
                     color="#bbbbbb", label="before")
            ax1.barh([i - 0.2 for i in y], now, height=0.4, color="#3b75af", label="after")
            ax1.legend(loc="lower right", fontsize=8)
        else:
            ax1.barh(list(y), now, color="#3b75af")
        ax1.set_yticks(list(y), [n.replace("_", " ") for n in names], fontsize=8)
        ax1.set_title("findings (rows)", fontsize=10)
        for i, v in zip(y, now, strict=True):
            ax1.text(v, i, f" {v}", va="center", fontsize=8)
        ax2.hist(self._gaps_pct().clip(-100, 100), bins=30, color="#d9823b")
        ax2.set_title("amount gap, % of owner amount", fontsize=10)
        ax2.set_xlabel("orders' total − owner amount (%)", fontsize=8)
        counts = self._orders_per_owner()
        if len(counts):
            ax3.bar(counts.index.astype(str), counts.to_numpy(), color="#5a9e5a")
            ax3.set_yscale("log")
        ax3.set_title("orders per owner (owners)", fontsize=10)
        return fig

    def chart(self, before: HealthReport | None = None) -> Any:
        """The charts as an SVG image a notebook displays (``before`` adds grey bars)."""
        from IPython.display import SVG

        return SVG(data=self.svg(before))

    def svg(self, before: HealthReport | None = None) -> str:
        """The three panels of :meth:`figure` as inline SVG (:mod:`b24nb.linkage.svg`)."""
        names = list(FINDINGS)
        return health_svg(names, [len(self[n]) for n in names],
                          None if before is None else [len(before[n]) for n in names],
                          self._gaps_pct().to_numpy(dtype=float),
                          {int(k): int(v) for k, v in self._orders_per_owner().items()})

    def _repr_html_(self) -> str:
        table = self.summary.to_html(index=False, escape=True)
        note = html.escape(", ".join(f"{k}={v}" for k, v in self.options.items()))
        return (f"<div><b>Linkage health</b> <small>({note})</small>{table}"
                f"{self.svg()}</div>")

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        return f"<HealthReport {parts}>"


def _suggest(inputs: Inputs, options: dict[str, Any]) -> pd.DataFrame:
    from b24nb.match import suggest

    kwargs = dict(options)
    if inputs.invoices:
        kwargs["invoices"] = inputs.invoices  # invoices compete with the deals for each order
    return suggest(inputs.deals, inputs.orders, inputs.bindings, **kwargs)


def health(  # noqa: PLR0913 - public verb; keyword-only options, pandas-style
        source: Any = None, *, deals: pd.DataFrame | None = None,
        orders: pd.DataFrame | None = None, bindings: pd.DataFrame | None = None,
        invoices: Any = None, pairs: pd.DataFrame | None = None, amount_tol: float = 0.01,
        many: int = 3, auto_window_min: float = 60, suggestions: bool = True,
        suggest_options: dict[str, Any] | None = None, portal: Any = None,
        progress: bool = False) -> HealthReport:
    """Check the portal's order linkage; read-only.

    Parameters
    ----------
    source : Portal or mapping, optional
        A connected portal (deals, orders, bindings and both kinds of invoices are loaded),
        or a mapping with ``deals``, ``orders``, ``bindings``, ``invoices`` frames.
    deals, orders, bindings, invoices : DataFrame, optional
        Frames as the loaders return them; they take precedence over loading.
    pairs : DataFrame, optional
        A ``suggest()`` result to reuse; computed when not given (``suggestions=True``).
    amount_tol : float
        Relative tolerance of the amount check: an owner's amount and its orders' total may
        differ by this fraction of the owner's amount (at least 1 currency unit × tol).
    many : int
        An owner with at least this many orders is listed in ``many_orders``.
    auto_window_min : float
        Minutes after an order within which a deal titled after it counts as auto-created.
    suggestions : bool
        Run ``suggest()`` to say whether unbound orders have a candidate and which real deal
        an order on a duplicate belongs to.
    suggest_options : dict, optional
        Passed to ``suggest()``.
    portal : Portal, optional
        With frames (say, deals of a date range), the portal to ask whether an owner missing
        from them really is gone before a binding is called dangling. Implied when
        ``source`` is a portal. Without one, the frames are taken as complete.

    Returns
    -------
    HealthReport
        ``report["unowned"]``, ``report.summary``, ``report.pairs("auto_created")``,
        ``report.compare(before)``; displays as a table with charts in a notebook.

    Examples
    --------
    >>> report = b24nb.health(portal)  # doctest: +SKIP
    >>> b24nb.review(report.pairs("auto_created"))  # doctest: +SKIP
    """
    if amount_tol < 0 or many < 2:
        raise ValueError("need amount_tol >= 0 and many >= 2")
    inputs = gather(source, deals=deals, orders=orders, bindings=bindings, invoices=invoices,
                    progress=progress)
    owners = owners_table(inputs)
    auto = auto_created_deals(inputs.deals, inputs.orders, auto_window_min)
    if pairs is None:
        pairs = _suggest(inputs, suggest_options or {}) if suggestions else pd.DataFrame(
            columns=["order_id", "deal_id", "owner_type_id", "score"])
    if portal is None and source is not None and not isinstance(source, Mapping):
        portal = source
    exists = None if portal is None else (lambda ask: existing_owners(portal, ask))
    found, lk = compute(inputs, owners, auto, pairs, amount_tol=amount_tol, many=many,
                        exists=exists)
    summary = pd.DataFrame({"finding": list(FINDINGS),
                            "count": [len(found[k]) for k in FINDINGS],
                            "what": list(FINDINGS.values())})
    unjudged = lk["owner_type_id"].notna() & ~lk["owner_type_id"].isin(
        list(inputs.loaded_types)).fillna(False)
    if unjudged.any():
        log.warning("%d bindings to owner types without a loaded frame were not checked",
                    int(unjudged.sum()))
    options = {"amount_tol": amount_tol, "many": many, "auto_window_min": auto_window_min}
    return HealthReport(found, summary, lk, pairs, options)
