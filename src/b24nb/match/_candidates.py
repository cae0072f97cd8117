"""The candidate pairs as parallel arrays: who they join, how they were found, how they compare.

Why one object: blocking finds the pairs, the levels describe them, the model scores them, the
settle and one-to-one steps keep some of them — and every step used to hand the next a
handful of arrays that had to be cut by the same rows in step. :meth:`Candidates.take` cuts
them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Candidates"]


@dataclass
class Candidates:
    """Candidate ``k`` is the pair (owner row ``di[k]``, order row ``oi[k]``).

    ``bits`` are the blocking rules that found it (:data:`b24nb.match._block.BIT`), ``lv`` its
    agreement level per comparison, ``lag`` the order's date minus the owner's in days (NaN
    when unknown). ``score`` and ``ev`` (the ``ev_*`` terms) are set once it is weighed.
    """

    di: np.ndarray
    oi: np.ndarray
    bits: np.ndarray
    lv: dict[str, np.ndarray]
    lag: np.ndarray
    score: np.ndarray | None = None
    ev: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.di)

    def scores(self) -> np.ndarray:
        """``score``, which the steps after the model rely on; refused before it is set."""
        if self.score is None:
            raise ValueError("the candidates are not weighed yet (Matcher.score sets it)")
        return self.score

    def evidence(self) -> dict[str, np.ndarray]:
        """The ``ev_*`` terms, which the output relies on; refused before they are set."""
        if self.ev is None:
            raise ValueError("the candidates' evidence is not worked out yet (Matcher.settle)")
        return self.ev

    def take(self, rows: np.ndarray) -> Candidates:
        """The candidates at positions ``rows``, in that order."""
        return Candidates(
            di=self.di[rows], oi=self.oi[rows], bits=self.bits[rows],
            lv={k: v[rows] for k, v in self.lv.items()}, lag=self.lag[rows],
            score=None if self.score is None else self.score[rows],
            ev=None if self.ev is None else {k: v[rows] for k, v in self.ev.items()})
