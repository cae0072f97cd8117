"""The journal's name for a portal: ``scheme://host#user<id>``, never a secret.

Why apart from :mod:`~b24nb.binding.api`: the run summary and the grid need it too, and
reaching into the verbs' module for it closed an import circle.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping
from typing import Any

from b24nb.redact import canonical_host, redact

__all__ = ["portal_identity"]

_identities: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def portal_identity(portal: Any) -> str:
    """Return ``scheme://host#user<id>`` for the journal: which portal and user, no secret.

    A :class:`~b24nb.portal.Portal` names itself (its ``identity``: canonical host, the
    user id from the webhook path or ``profile``). Other portal-like objects get the same
    shape from their ``host`` and ``profile`` (once per object). The journal finds an
    order's history by the host part alone, so a binding made through one user's webhook is
    resumed or undone through another's.
    """
    ident = getattr(portal, "identity", None)
    if isinstance(ident, str) and ident:
        return redact(ident)
    try:
        if portal in _identities:
            return _identities[portal]
    except TypeError:
        pass
    host = canonical_host(getattr(portal, "host", "") or "portal")
    uid = getattr(getattr(portal, "_auth", None), "user_id", None)
    if uid is None:
        profile = portal.call("profile")
        uid = profile.get("ID") if isinstance(profile, Mapping) else None
    key = redact(f"{host}#user{uid}")
    with contextlib.suppress(TypeError):
        _identities[portal] = key
    return key


