"""Suggest deal↔order pairs: explainable candidates, one order to one owner, fast.

The pipeline follows record-linkage practice (research ``notebook-ux.md`` Part C): block
(:mod:`._block`), compare into agreement levels (:mod:`._levels`), weigh them with a
Fellegi–Sunter model fitted to this portal's own data on every call (:mod:`._model`), assign
one-to-one greedily (:mod:`._assign`), and return the contract's ``pairs`` frame
(:mod:`._output`, built typed by :mod:`b24nb.pairs`). :class:`~.matcher.Matcher` runs these
stages with one set of :class:`~.matcher.MatchOptions`; :func:`suggest` is its façade. This
package imports no network code; it works on the frames the loaders return.

Rules an analyst can rely on
----------------------------
* ``score`` is the match probability; ``ev_*`` are its log2-odds terms (``ev_prior``, one per
  comparison, ``ev_rivals``) and add up to ``weight``; ``lvl_*`` are the agreement levels and
  ``reasons`` says them in words.
* **Pre-ticked** (``selected``) only when ``score >= high``, the pair is not ``ambiguous``,
  not a ``rebind`` (which includes orders on auto-created owners) and not a shared deal.
  Nothing is ever bound without an explicit tick.
* **Dropped** below ``low``; a pair the analyst rejected (``decisions=``) is never suggested.
* **Ambiguous** when another free deal for the same order, or another order left without a
  deal that wanted the same deal, scores within ``margin``; the free competitors are listed as
  extra rows (also ambiguous) so the analyst can choose.
* **Already bound** to the suggested deal → not suggested again. Bound to another deal → the
  pair is a visible ``rebind``, **never pre-ticked** (moving an order is the analyst's call,
  journaled by ``bind(..., allow_rebind=True)``). A current owner that is a real deal keeps
  the order unless an alternative beats it by more than ``margin``.
* **Auto-created deals** (titled after an order, created minutes after it — research §10)
  are flagged in ``current_owner_auto`` and are never suggested as candidates; orders bound
  to them get the real deal as a rebind suggestion.
* **Split deliveries**: an order left without a deal may be suggested for a deal already
  matched to another order when client, e-mail or phone agree; never pre-ticked.
"""

from __future__ import annotations

import pandas as pd

from b24nb.match._levels import LEVELS
from b24nb.match._model import Model
from b24nb.match.matcher import Matcher, MatchOptions
from b24nb.pairs import COLUMNS, empty_pairs

__all__ = ["COLUMNS", "LEVELS", "MatchOptions", "Matcher", "Model", "empty_pairs", "suggest"]


def suggest(  # noqa: PLR0913 - public verb; pandas-style keyword options
        deals: pd.DataFrame, orders: pd.DataFrame, bindings: pd.DataFrame | None = None,
        *, high: float = 0.99, low: float = 0.05, margin: float = 0.05,
        amount_tol: float = 0.25, date_window: tuple[float, float] = (-30, 60),
        id_window: tuple[float, float] = (-90, 365), auto_window_min: float = 60,
        alternatives: bool = True, decisions: pd.DataFrame | None = None,
        invoices: pd.DataFrame | list[pd.DataFrame] | None = None,
        seed: int = 0) -> pd.DataFrame:
    """Suggest which deal (or invoice) each order belongs to, with the evidence for it.

    A Fellegi–Sunter model is fitted to these frames on each call (u from random pairs, m by
    EM over the candidates, term-frequency adjusted), so the weights fit this portal without
    tuning; ``pairs.attrs["model"]`` keeps the fitted :class:`Model`.

    Parameters
    ----------
    deals, orders, bindings : DataFrame
        As :func:`b24nb.load_deals`, :func:`b24nb.load_orders` and :func:`b24nb.load_bindings`
        return them (docs/contracts.md §Frames). Required: ``OPPORTUNITY``, ``CURRENCY_ID``,
        ``DATE_CREATE`` and ``price``, ``currency``, ``dateInsert``; every other column is
        used when present (``contact_*``, ``customer_*``, ``CONTACT_ID``, ``contact_id``, …).
    high, low : float
        Match probabilities: pre-tick at or above ``high`` (0.99: about one wrong tick in a
        hundred at worst); drop below ``low`` (the model finds the pair very unlikely).
    margin : float
        A runner-up this close in probability makes a pair ambiguous (never pre-ticked); a
        current owner keeps its order unless beaten by more than this.
    amount_tol, date_window : float, (float, float)
        The amount rule's relative tolerance (fees, discounts) and its window in days (order
        date minus deal date; negative = the deal came after the order). An equal amount in
        the same currency inside the window is always a candidate.
    id_window : (float, float)
        Days window for pairs found by client, e-mail, phone or number.
    auto_window_min : float
        Minutes after an order within which a deal titled after it counts as auto-created.
    alternatives : bool
        Add the competing free deals of ambiguous orders as extra (never pre-ticked) rows.
    decisions : DataFrame, optional
        The analyst's decisions (``b24nb.decisions()``: ``order_id``, ``deal_id``,
        ``owner_type_id``, ``decision``, ``decided_at``; the newest per pair wins). Rejected
        pairs are never suggested; accepted ones (and ``bind()`` results) are known matches
        that EM learns from; ``unsure`` changes nothing.
    invoices : DataFrame or list of DataFrame, optional
        ``b24nb.load_invoices(...)`` frames (smart, type 31; legacy, type 5). Their rows
        compete with the deals for each order; ``owner_type_id`` says which won.
    seed : int
        Seed of the random pairs and EM sample: the same input always gives the same pairs.

    Returns
    -------
    DataFrame
        The ``pairs`` frame indexed by ``pair_id``, sorted by score (highest first).

    Raises
    ------
    b24nb.errors.ValidationError
        Missing columns or wrong dtypes, all named in one message; bad options.

    Examples
    --------
    >>> from b24nb.testing import demo_frames
    >>> deals, orders, bindings, truth = demo_frames(seed=1, n_deals=200, n_orders=240)
    >>> pairs = suggest(deals, orders, bindings)
    >>> ev = pairs[[c for c in pairs if c.startswith("ev_")]].sum(axis=1)
    >>> bool((ev - pairs["weight"]).abs().max() < 1e-9)
    True
    """
    options = MatchOptions(high=high, low=low, margin=margin, amount_tol=amount_tol,
                           date_window=date_window, id_window=id_window,
                           auto_window_min=auto_window_min, alternatives=alternatives,
                           seed=seed)
    return Matcher(options).suggest(deals, orders, bindings, decisions=decisions,
                                    invoices=invoices)
