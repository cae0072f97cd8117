"""The matcher: ``suggest``'s pipeline as one object configured once, one method per stage.

Why an object: the pipeline has six stages (read the frames, block, fit and weigh, settle the
current owners, one-to-one, output) that share the same options and the same row numbering.
As one function it was 65 statements of index arithmetic; here each stage is a method that
says what it takes and returns, so a stage can be read, tested or swapped alone. The options
are a frozen :class:`MatchOptions`, checked when made: a :class:`Matcher` is valid from the
start and cannot drift between calls.

>>> from b24nb.testing import demo_frames
>>> deals, orders, bindings, _ = demo_frames(seed=1, n_deals=200, n_orders=240)
>>> pairs = Matcher(MatchOptions(high=0.95)).suggest(deals, orders, bindings)
>>> bool(pairs["selected"].any())
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from b24nb.errors import ValidationError
from b24nb.match._assign import assign, runner_up
from b24nb.match._block import Blocking, block
from b24nb.match._candidates import Candidates
from b24nb.match._decisions import known_pairs
from b24nb.match._inputs import Inputs, read_inputs
from b24nb.match._levels import levels
from b24nb.match._model import Evidence, Model, fit, weigh
from b24nb.match._output import assemble
from b24nb.match._prep import NONE
from b24nb.pairs import empty_pairs

__all__ = ["MatchOptions", "Matcher"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: slack on score comparisons, so two pairs that differ only by rounding count as a tie
_EPS = 1e-9
# one-to-one row kinds: chosen (one order ↔ one owner), a shared deal, a competing alternative
_CHOSEN, _SHARED, _ALTERNATIVE = 0, 1, 2


@dataclass(frozen=True)
class MatchOptions:
    """``suggest``'s options (same names, same defaults; see :func:`b24nb.match.suggest`).

    Checked when made, so a bad value is refused before any frame is read.

    Raises
    ------
    b24nb.errors.ValidationError
        A threshold or a tolerance out of range, a window given latest first.
    """

    high: float = 0.99
    low: float = 0.05
    margin: float = 0.05
    amount_tol: float = 0.25
    date_window: tuple[float, float] = (-30, 60)
    id_window: tuple[float, float] = (-90, 365)
    auto_window_min: float = 60
    alternatives: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        low, high = self.low, self.high
        if not 0 <= low <= high <= 1 or self.margin < 0 or self.amount_tol < 0:
            raise ValidationError("options out of range",
                                  [f"need 0 <= low ({low}) <= high ({high}) <= 1, margin >= 0, "
                                   f"amount_tol >= 0"])
        if self.date_window[0] > self.date_window[1] or self.id_window[0] > self.id_window[1]:
            raise ValidationError("windows must be (earliest, latest) in days",
                                  [f"date_window={self.date_window}",
                                   f"id_window={self.id_window}"])

    @property
    def blocking(self) -> Blocking:
        """The blocking rules' part of the options (the caps keep their defaults)."""
        return Blocking(amount_tol=self.amount_tol, date_window=self.date_window,
                        id_window=self.id_window)


class Matcher:
    """Suggest deal↔order pairs with one set of :class:`MatchOptions`.

    Stateless between calls: :meth:`suggest` fits a fresh model to the frames it is given
    (``pairs.attrs["model"]`` keeps it), so one matcher may serve any number of portals.
    """

    def __init__(self, options: MatchOptions | None = None) -> None:
        self.options = options or MatchOptions()

    def __repr__(self) -> str:
        return f"Matcher({self.options!r})"

    def suggest(self, deals: pd.DataFrame, orders: pd.DataFrame,
                bindings: pd.DataFrame | None = None, *, decisions: pd.DataFrame | None = None,
                invoices: pd.DataFrame | list[pd.DataFrame] | None = None) -> pd.DataFrame:
        """The ``pairs`` frame for these frames (the arguments of :func:`b24nb.match.suggest`)."""
        inputs = read_inputs(deals, orders, bindings, invoices,
                             auto_window_min=self.options.auto_window_min)
        if inputs is None:
            return empty_pairs()
        cand = self.candidates(inputs)
        known, rejected = known_pairs(decisions, inputs.key[cand.di], inputs.o.ids[cand.oi])
        model, evidence = self.score(inputs, cand, known)
        kept, taken = self.settle(inputs, cand, evidence, rejected)
        rows, kind, amb = self.one_to_one(inputs, kept, taken)
        pairs = assemble(inputs, rows, kind, amb, high=self.options.high)
        pairs.attrs["model"] = model
        return pairs

    def candidates(self, inputs: Inputs) -> Candidates:
        """Block the pairs worth scoring and compare each into agreement levels."""
        d, o = inputs.d, inputs.o
        di, oi, bits = block(d, o, candidate=~inputs.auto, current=inputs.current,
                             rules=self.options.blocking)
        lv, lag = levels(d, o, di, oi)
        return Candidates(di=di, oi=oi, bits=bits, lv=lv, lag=lag)

    def score(self, inputs: Inputs, cand: Candidates, known: np.ndarray | None
              ) -> tuple[Model, Evidence]:
        """Fit the model to this portal and set ``cand.score``; the evidence comes lazily.

        ``known`` holds the analyst's labels per candidate (:func:`known_pairs`). The u
        probabilities are drawn over the owners that may be suggested (not auto-created).
        """
        model, tf = fit(inputs.d, inputs.o, cand, np.flatnonzero(~inputs.auto), known=known,
                        seed=self.options.seed)
        evidence, cand.score = weigh(model, cand, tf, inputs.n_d, inputs.n_o)
        logger.debug("blocked %d candidate pairs for %d owners × %d orders", len(cand),
                     inputs.n_d, inputs.n_o)
        return model, evidence

    def settle(self, inputs: Inputs, cand: Candidates, evidence: Evidence,
               rejected: np.ndarray) -> tuple[Candidates, np.ndarray]:
        """Keep the candidates worth showing, weighed; and the owner rows that keep their order.

        An order whose real current owner holds stays with it unless an alternative beats it
        by more than ``margin``; such an order gets no suggestion, and its owner is taken.
        Dropped too: pairs below ``low``, the current pair itself, rejected pairs.
        """
        low, margin = self.options.low, self.options.margin
        current, score, di, oi = inputs.current, cand.scores(), cand.di, cand.oi
        is_cur = di == current[oi]
        cur_score = np.full(inputs.n_o, -np.inf)
        cur_score[oi[is_cur]] = score[is_cur]
        alt_best = np.full(inputs.n_o, -np.inf)
        np.maximum.at(alt_best, oi[~is_cur], score[~is_cur])
        settled = (current != NONE) & ((alt_best <= cur_score + margin) | (alt_best < low))
        keep = np.flatnonzero((score >= low) & ~is_cur & ~settled[oi] & ~rejected)
        kept = cand.take(keep)
        kept.ev = evidence.at(keep)
        taken = current[settled]
        return kept, taken[taken != NONE]

    def one_to_one(self, inputs: Inputs, kept: Candidates, taken: np.ndarray
                   ) -> tuple[Candidates, np.ndarray, np.ndarray]:
        """One order to one owner: the rows to show, in output order, their kind and ambiguity.

        Greedy by score (``taken`` owners keep their order); then split deliveries — a deal
        already taken may take one more order when the customer or a split of its amount
        says so; then, with ``alternatives``, the free competitors of ambiguous orders.
        Sorted by score (highest first), ties by order id, then owner.
        """
        margin, score = self.options.margin, kept.scores()
        eligible = np.ones(len(kept), dtype=bool)
        identity = np.isin(kept.lv["customer"], (1, 2, 3, 4)) | (kept.lv["amount"] == 7)
        res = assign(kept.di, kept.oi, score, eligible, identity, (inputs.key, inputs.o.ids),
                     taken)
        ro, rd = runner_up(kept.di, kept.oi, score, eligible, res.chosen, inputs.n_d,
                           inputs.n_o)
        s = score[res.chosen]
        amb_o = s - ro <= margin + _EPS
        rows = [res.chosen, res.shared]
        kinds = [np.full(len(res.chosen), _CHOSEN, np.int8),
                 np.full(len(res.shared), _SHARED, np.int8)]
        flags = [amb_o | (s - rd <= margin + _EPS), np.zeros(len(res.shared), bool)]
        if self.options.alternatives and amb_o.any():
            alt = self._alternatives(inputs, kept, res.chosen, amb_o)
            rows.append(alt)
            kinds.append(np.full(len(alt), _ALTERNATIVE, np.int8))
            flags.append(np.ones(len(alt), bool))
        pick, kind, amb = np.concatenate(rows), np.concatenate(kinds), np.concatenate(flags)
        order = np.lexsort((inputs.key[kept.di[pick]], inputs.o.ids[kept.oi[pick]],
                            -score[pick]))
        return kept.take(pick[order]), kind[order], amb[order]

    def _alternatives(self, inputs: Inputs, kept: Candidates, chosen: np.ndarray,
                      doubtful: np.ndarray) -> np.ndarray:
        """Candidates on a free owner within ``margin`` of a ``doubtful`` chosen pair's score.

        ``chosen`` are the one-to-one pairs; ``doubtful`` marks those ambiguous for their order.
        """
        score = kept.scores()
        s = score[chosen]
        floor = np.full(inputs.n_o, np.inf)
        floor[kept.oi[chosen[doubtful]]] = s[doubtful] - self.options.margin - _EPS
        taken = np.zeros(inputs.n_d, bool)
        taken[kept.di[chosen]] = True
        return np.flatnonzero(~taken[kept.di] & (score >= floor[kept.oi]))
