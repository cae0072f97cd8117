"""Linkage health: the portal's order bindings as a whole, and cleaning up after a move.

* :func:`health` — findings (orders bound to nothing, on auto-created duplicates, to
  deleted owners; amount, currency and customer disagreements; owners with many orders),
  each with its rows and a ``pairs()`` frame for :func:`b24nb.review`; charts in a notebook.
* :func:`empty_shells`, :func:`move_shells`, :func:`undo_shells` — auto-created deals left
  without orders after a move, moved to a stage the analyst chooses (journaled, undoable,
  never deleted).

Named ``linkage`` rather than ``health``: a submodule called ``health`` would shadow the
verb ``b24nb.health`` once imported.
"""

from __future__ import annotations

from b24nb.linkage.findings import FINDINGS
from b24nb.linkage.report import HealthReport, health
from b24nb.linkage.shells import empty_shells, move_shells, undo_shells

__all__ = ["FINDINGS", "HealthReport", "empty_shells", "health", "move_shells", "undo_shells"]
