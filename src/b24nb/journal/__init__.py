"""The journal: an append-only SQLite log of every write b24nb sends to a portal.

:mod:`~b24nb.journal.store` holds the file (:class:`Journal`), :mod:`~b24nb.journal.schema` its
``events`` table (columns, DDL, how a value is stored), :mod:`~b24nb.journal.history`
opens it for a verb and reads it back (:func:`history`), :mod:`~b24nb.journal.keys` names the
portal a row belongs to, :mod:`~b24nb.journal.claims` lets one run at a time work on an order,
and :mod:`~b24nb.journal.ledger` folds one order's events into what resume and undo need.
"""

from __future__ import annotations

from b24nb.journal.history import history, open_journal
from b24nb.journal.keys import portal_key, portal_site
from b24nb.journal.ledger import MADE, Link, OrderLedger, fold
from b24nb.journal.store import WRITE_KEYS, Journal, JournalError, default_path

__all__ = [
    "MADE",
    "WRITE_KEYS",
    "Journal",
    "JournalError",
    "Link",
    "OrderLedger",
    "default_path",
    "fold",
    "history",
    "open_journal",
    "portal_key",
    "portal_site",
]
