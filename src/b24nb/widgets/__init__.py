"""The review grid: :class:`MatchPicker` and its façade :func:`review`.

Plain ipywidgets only (no grid dependency, no front-end code), a fixed pool of row widgets,
and the pairs frame as the only state; see :mod:`b24nb.widgets.picker` for why.
"""

from __future__ import annotations

from b24nb.widgets.api import review
from b24nb.widgets.picker import MatchPicker

__all__ = ["MatchPicker", "review"]
