"""Bind selected deal↔order pairs on the portal, and undo it: ``bind()``, ``unbind()``.

The parts: :mod:`~b24nb.bind.validate` (nothing is sent for a bad frame),
:mod:`~b24nb.bind.owners` (the current owner of many orders in few requests),
:mod:`~b24nb.bind.plan` (what each row needs, from the portal and the journal),
:mod:`~b24nb.bind.sender` (batches of 50, journal before and after, read-back settling),
:mod:`~b24nb.bind.frame` (the ``bind_*`` columns) and :mod:`~b24nb.bind.api` (the verbs).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from b24nb.bind.api import RunSummary, bind, portal_identity, unbind
from b24nb.bind.frame import STATUSES

__all__ = ["STATUSES", "RunSummary", "bind", "portal_identity", "unbind"]


class _CallableModule(types.ModuleType):
    """Let ``b24nb.bind(portal, pairs)`` work although ``b24nb.bind`` names this package.

    ``b24nb.__getattr__`` hands out a module whose name ends with the attribute asked for,
    so the top-level ``b24nb.bind`` is this package; calling it calls :func:`bind`.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> RunSummary:
        return bind(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
