"""Bind selected deal↔order pairs on the portal, and undo it: ``bind()``, ``unbind()``.

The parts: :mod:`~b24nb.binding.validate` (nothing is sent for a bad frame),
:mod:`~b24nb.binding.owners` (the current owner of many orders in few requests),
:mod:`~b24nb.binding.plan` (what each row needs, from the portal and the journal),
:mod:`~b24nb.binding.sender` (batches of 50, journal before and after, read-back settling),
:mod:`~b24nb.binding.engine` (one run, dry or real) and :mod:`~b24nb.binding.api` (the verbs);
the ``bind_*`` columns are written by :class:`b24nb.pairs.FrameLog`.

The package is named ``binding`` rather than ``bind`` so that the top-level verb
``b24nb.bind`` stays a function: importing a submodule named ``bind`` would overwrite it.
"""

from __future__ import annotations

from b24nb.binding.api import RunSummary, bind, portal_identity, unbind
from b24nb.pairs import STATUSES

__all__ = ["STATUSES", "RunSummary", "bind", "portal_identity", "unbind"]
