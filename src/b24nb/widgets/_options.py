"""The review grid's start options, in one value the grid's builders share.

Why a dataclass: :func:`b24nb.review` and :class:`~b24nb.widgets.picker.MatchPicker` keep their
keyword options (the analyst's verb, pandas-style); inside, one frozen value carries them to
the parts that build the grid, so no internal constructor grows a tenth parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_THRESHOLD", "ReviewOptions"]

#: where the "tick all ≥" slider starts: ``suggest(high=0.99)``'s default, so the button ticks
#: what the matcher would pre-tick (a test keeps the two equal)
DEFAULT_THRESHOLD = 0.99


@dataclass(frozen=True)
class ReviewOptions:
    """How a grid starts; see :func:`b24nb.review` for what each option means."""

    deals: Any = None
    journal: Any = None
    page_size: int = 25
    threshold: float = DEFAULT_THRESHOLD
    dry_run: bool = False
    allow_rebind: bool = False
    export_path: str = "b24nb-log.csv"
    record_decisions: bool = True
