"""A Fellegi–Sunter model fitted to the portal's own deals and orders, on every call.

Why fitted: what agreement means differs by portal (catalogue prices shared by hundreds of
orders, deals opened weeks before the order or days after it, titles that cite the order or
never do). Fixed weights tuned on one portal fail on the next (issue 10). The field's answer
(Fellegi & Sunter 1969; Splink's ``estimate_u_using_random_sampling`` and
``estimate_parameters_using_expectation_maximisation``) is followed here:

* **u** (P(level | not a match)) from random (deal, order) pairs, blended with a broad prior so
  that a portal of ten deals does not learn from ten pairs;
* **term frequencies**: an exact amount or a customer shared by one order weighs more than one
  shared by hundreds (Splink's TF adjustment: ``log2(u_level / tf_value)``);
* **m** (P(level | match)) by EM over the blocked candidates, each level anchored by a
  pseudo-count prior, so a tiny portal keeps the prior and a large one learns its own;
* **one order, one deal**: the posterior of pair (d, o) is normalised over o's candidates
  (the order has one true deal or none) and penalised by d's competing orders. The log-odds
  that this costs is kept as its own term (``ev_rivals``), so the terms still add up.

Weights are in bits (log2). ``ev_prior + Σ ev_field + ev_rivals`` is the log2-odds of the
pair, and ``score`` its probability.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from b24nb.match._candidates import Candidates
from b24nb.match._levels import COMPARISONS, LAG_EDGES, LEVELS, levels, order_values, tf_keys
from b24nb.match._prep import Side

__all__ = ["Model", "fit", "weigh"]

logger = logging.getLogger(__name__)

MIN_DEALS = 1_000  # the prior assumes at least this many deals compete for an order
EM_PAIRS = 400_000  # EM runs on the candidates of a sample of orders above this
U_PAIRS = 200_000  # random pairs for the u-probabilities
ALPHA = 20.0  # pseudo-count of the m prior (per comparison)
BETA = 200.0  # pseudo-count of the u prior
TF_CLIP = 8.0  # bits: how far a term frequency may move a level's weight either way
FLOOR = 1e-4


def _lag_u() -> np.ndarray:
    """u prior of the lag bins: deal and order dates unrelated over about a year each way."""
    span = 365.0
    edges = np.concatenate([[-span], LAG_EDGES, [span]])
    return np.diff(edges) / (2 * span)


# Priors, per comparison, for levels 1… (level 0 "cannot compare" weighs nothing).
M_PRIOR: dict[str, list[float]] = {
    "amount": [0.55, 0.08, 0.12, 0.12, 0.05, 0.05, 0.03],
    "currency": [0.995, 0.005],
    "customer": [0.45, 0.15, 0.1, 0.08, 0.07, 0.05, 0.10],
    "number": [0.9, 0.1],
    # two-sided and broad: most orders within ten days of their deal, either way
    "date": [0.005, 0.02, 0.06, 0.08, 0.10, 0.08, 0.20, 0.20, 0.15, 0.07, 0.025, 0.01],
    "responsible": [0.45, 0.15, 0.40],
}
U_PRIOR: dict[str, list[float]] = {
    "amount": [0.002, 0.01, 0.05, 0.12, 0.2, 0.617, 0.001],
    "currency": [0.6, 0.4],
    "customer": [0.0005, 0.001, 0.0005, 0.002, 0.005, 0.04, 0.951],
    "number": [0.001, 0.999],
    "date": list(_lag_u()),
    "responsible": [0.1, 0.05, 0.85],
}


def _norm(v: np.ndarray) -> np.ndarray:
    v = np.maximum(v, FLOOR)
    return v / v.sum()


@dataclass
class Model:
    """The fitted parameters; ``m[c][l]``/``u[c][l]`` for level ``l`` ≥ 1 at index ``l − 1``."""

    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    rho: float  # share of orders that have a true deal
    sigma: float  # share of (candidate) deals that have a true order
    n_deals: int
    n_orders: int
    iterations: int = 0
    labelled: int = 0
    tf: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def prior_bits(self) -> float:
        """log2-odds that an order belongs to one given deal, before any evidence."""
        lam = self.rho / max(self.n_deals, MIN_DEALS)
        return float(np.log2(lam / (1 - self.rho)))

    def table(self, c: str) -> np.ndarray:
        """log2(m/u) per level, level 0 → 0."""
        return np.concatenate([[0.0], np.log2(self.m[c] / self.u[c])])

    def summary(self) -> dict[str, dict[str, tuple[float, float]]]:
        """``{comparison: {level label: (m, u)}}`` — the fitted model, for reading."""
        return {c: {LEVELS[c][i + 1]: (float(self.m[c][i]), float(self.u[c][i]))
                    for i in range(len(self.m[c]))} for c in COMPARISONS}


def _estimate_u(d: Side, o: Side, deal_rows: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    n = len(deal_rows) * len(o.ids)
    if n <= U_PAIRS:
        di = np.repeat(deal_rows, len(o.ids))
        oi = np.tile(np.arange(len(o.ids)), len(deal_rows))
    else:
        rng = np.random.default_rng(seed)
        di = deal_rows[rng.integers(0, len(deal_rows), U_PAIRS)]
        oi = rng.integers(0, len(o.ids), U_PAIRS)
    lv, _ = levels(d, o, di, oi)
    out = {}
    for c in COMPARISONS:
        k = len(LEVELS[c])
        cnt = np.bincount(lv[c], minlength=k)[1:].astype(np.float64)
        out[c] = _norm((cnt + BETA * np.asarray(U_PRIOR[c])) / (cnt.sum() + BETA))
    return out


def _tf_tables(o: Side) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per TF comparison: sorted keys, their share among orders of their kind, Σ share²."""
    out = {}
    for c, values in order_values(o).items():
        keys, counts = np.unique(values, return_counts=True)
        kind = keys >> 40
        share = np.zeros(len(keys))
        s2 = np.full(int(kind.max()) + 1 if len(kind) else 1, np.nan)
        for k in np.unique(kind):
            sel = kind == k
            p = counts[sel] / counts[sel].sum()
            share[sel] = p
            s2[k] = float((p * p).sum())
        out[c] = (keys, share, s2)
    return out


def tf_bits(model: Model, c: str, keys: np.ndarray) -> np.ndarray:
    """Splink's term-frequency adjustment ``log2(Σ p² / p_value)`` for shared values."""
    table, share, s2 = model.tf[c]
    if not len(table) or not len(keys):
        return np.zeros(len(keys))
    pos = np.clip(np.searchsorted(table, keys), 0, len(table) - 1)
    p = np.where(table[pos] == keys, share[pos], np.nan)
    kind = np.clip(keys >> 40, 0, len(s2) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        adj = np.log2(s2[kind] / p)
    return np.clip(np.nan_to_num(adj), -TF_CLIP, TF_CLIP)


def _field_bits(model: Model, lv: dict[str, np.ndarray],
                tf: dict[str, tuple[np.ndarray, np.ndarray]], rows: np.ndarray
                ) -> dict[str, np.ndarray]:
    """Each comparison's bits at candidate positions ``rows`` (sorted), TF included."""
    out = {}
    for c in COMPARISONS:
        w = model.table(c)[lv[c][rows]]
        if c in tf and len(rows):
            pos, bits = tf[c]  # pos: sorted candidate positions that agree on a TF value
            at = np.clip(np.searchsorted(pos, rows), 0, max(len(pos) - 1, 0))
            hit = (pos[at] == rows) if len(pos) else np.zeros(len(rows), bool)
            w[hit] += bits[at[hit]]
        out[c] = w
    return out


@dataclass
class Evidence:
    """The per-field bits behind each candidate's score, worked out only for the rows asked.

    Why lazy: ``weigh`` scores every blocked candidate (millions on a big portal), but only the
    few that pass ``low`` are shown; eight float columns for all of them would be most of the
    matcher's memory, built to be thrown away.
    """

    model: Model
    lv: dict[str, np.ndarray]
    tf: dict[str, tuple[np.ndarray, np.ndarray]]
    rivals: np.ndarray

    def at(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """``ev_*`` columns for candidate positions ``rows`` (ascending)."""
        bits = _field_bits(self.model, self.lv, self.tf, rows)
        return {"ev_prior": np.full(len(rows), self.model.prior_bits),
                **{f"ev_{c}": bits[c] for c in COMPARISONS}, "ev_rivals": self.rivals[rows]}


def _posterior(total: np.ndarray, oi: np.ndarray, n_o: int, rho: float, n_d: int
               ) -> np.ndarray:
    """P(pair is the order's match), normalised over the order's candidates."""
    lam = rho / max(n_d, MIN_DEALS)
    w = lam * np.exp2(np.clip(total, -60, 60))
    s = np.bincount(oi, weights=w, minlength=n_o)
    return w / ((1 - rho) + s[oi])


def fit(d: Side, o: Side, cand: Candidates, deal_rows: np.ndarray, *,
        known: np.ndarray | None = None, iterations: int = 12, seed: int = 0
        ) -> tuple[Model, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Fit u (random pairs over ``deal_rows``) and m, ρ (EM over ``cand``); return the TF bits.

    ``known`` (per candidate: 1 true, 0 false, NaN unknown) fixes the posterior of pairs the
    analyst decided (accepted/bound, rejected), so they teach m without being guessed.
    """
    di, oi, lv = cand.di, cand.oi, cand.lv
    n_o = len(o.ids)
    model = Model(m={c: _norm(np.asarray(M_PRIOR[c])) for c in COMPARISONS},
                  u=_estimate_u(d, o, deal_rows, seed), rho=0.5, sigma=0.5,
                  n_deals=len(deal_rows), n_orders=n_o)
    model.tf = _tf_tables(o)
    tf = {c: (pos, tf_bits(model, c, keys)) for c, (pos, keys) in tf_keys(d, o, oi, lv).items()}

    # EM on the candidates of a sample of orders: all of an order's candidates or none, so
    # the one-deal-per-order normalisation stays exact.
    sel = slice(None)
    n_sample = n_o
    if len(di) > EM_PAIRS:
        rng = np.random.default_rng(seed)
        keep_o = rng.random(n_o) < EM_PAIRS / len(di)
        sel = np.flatnonzero(keep_o[oi])
        n_sample = int(keep_o.sum())
    lv_s = {c: lv[c][sel] for c in COMPARISONS}
    oi_s = oi[sel]
    tf_add = np.zeros(len(di))
    for _c, (pos, bits) in tf.items():
        tf_add[pos] += bits
    tf_s = tf_add[sel]
    logu_s = sum(np.log2(np.concatenate([[1.0], model.u[c]]))[lv_s[c]] for c in COMPARISONS)
    fixed = None if known is None else known[sel]
    if fixed is not None:
        model.labelled = int(np.isfinite(fixed).sum())
    for it in range(iterations):
        logm = sum(np.log2(np.concatenate([[1.0], model.m[c]]))[lv_s[c]] for c in COMPARISONS)
        post = _posterior(logm - logu_s + tf_s, oi_s, n_o, model.rho, model.n_deals)
        if fixed is not None:
            post = np.where(np.isfinite(fixed), fixed, post)
        delta = 0.0
        for c in COMPARISONS:
            k = len(LEVELS[c])
            cnt = np.bincount(lv_s[c], weights=post, minlength=k)[1:]
            new = _norm((cnt + ALPHA * np.asarray(M_PRIOR[c])) / (cnt.sum() + ALPHA))
            delta = max(delta, float(np.abs(new - model.m[c]).max()))
            model.m[c] = new
        model.rho = float(np.clip(post.sum() / max(n_sample, 1), 0.02, 0.9))
        model.iterations = it + 1
        if delta < 1e-3:
            break
    model.sigma = float(np.clip(model.rho * n_o / max(model.n_deals, 1), 0.02, 0.9))
    logger.debug("EM: %d iterations, rho=%.3f", model.iterations, model.rho)
    return model, tf


def weigh(model: Model, cand: Candidates, tf: dict[str, tuple[np.ndarray, np.ndarray]],
          n_d: int, n_o: int) -> tuple[Evidence, np.ndarray]:
    """The match probability of every candidate, and its evidence (``ev_*`` bits on demand).

    The rivals term: the order's other candidates share its one true deal (exact under the
    model), and the deal's other candidate orders compete for it (an approximation: a deal
    may have two true orders, a split delivery, which then are never sure).
    """
    di, oi, lv = cand.di, cand.oi, cand.lv
    w_fields = np.zeros(len(di))
    for c in COMPARISONS:
        w_fields += model.table(c)[lv[c]]
    for pos, bits in tf.values():
        w_fields[pos] += bits
    prior = model.prior_bits
    lam = model.rho / max(model.n_deals, MIN_DEALS)
    e = np.exp2(np.clip(w_fields, -60, 60))
    w = lam * e
    s_o = np.bincount(oi, weights=w, minlength=n_o)
    mu = model.sigma / max(n_o, MIN_DEALS)
    v = mu * e
    s_d = np.bincount(di, weights=v, minlength=n_d)
    rivals = -np.log2(1 + np.maximum(s_o[oi] - w, 0) / (1 - model.rho)) \
        - np.log2(1 + np.maximum(s_d[di] - v, 0) / (1 - model.sigma))
    total = prior + w_fields + rivals
    return Evidence(model, lv, tf, rivals), 1.0 / (1.0 + np.exp2(-np.clip(total, -60, 60)))
