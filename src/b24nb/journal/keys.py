"""Journal keys: which portal (and user) a journal row belongs to, in one spelling.

Why its own module: the journal files events under the portal's key, and every reader
(ledgers, claims, ``history(portal=…)``) must agree on what "the same portal" means —
without importing the verbs (``b24nb.binding``) that send to it.
"""

from __future__ import annotations

from typing import Any

from b24nb.redact import canonical_host, redact

__all__ = ["portal_key", "portal_site"]


def portal_site(key: str) -> str:
    """The portal part of a journal key: ``"https://x.bitrix24.ru#user7"`` → the host part.

    Keys name the user too (who did it, for the audit); what an order's ledger belongs to is
    the portal, since an order has one owner there whoever asks. The host is canonical
    (:func:`b24nb.redact.canonical_host`): ``X.bitrix24.ru:443`` and ``x.bitrix24.ru.`` are
    the same portal — also in journals written before keys were canonical.
    """
    return canonical_host(str(key).split("#", 1)[0])


def portal_key(portal: Any) -> str:
    """The journal key of a connected portal (its ``identity``) or of a key given as text."""
    if isinstance(portal, str):
        return portal
    ident = getattr(portal, "identity", None)
    if not isinstance(ident, str) or not ident:
        raise TypeError(f"{type(portal).__name__} has no journal identity")
    return redact(ident)


def _site_or_none(key: Any) -> str | None:
    return None if key is None else portal_site(str(key))
