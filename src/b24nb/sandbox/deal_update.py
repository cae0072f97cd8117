"""``crm.deal.update``: change a deal's writable fields the way the legacy CRM layer does.

Parameters ``id`` and ``fields`` (and ``params``, ignored here); the answer is ``true``.
Unknown and read-only fields are ignored without a word; ``DATE_MODIFY`` becomes now and
``MODIFY_BY_ID`` the calling user (the webhook's user 1); a new ``STAGE_ID`` also sets
``STAGE_SEMANTIC_ID`` and ``CLOSED`` as the stage's group says (``WON`` success, ``LOSE`` /
``APOLOGY`` failure). Errors: HTTP 400 with an empty code — ``ID is not defined or
invalid.``, ``Not found``, ``The parameter 'fields' must be array.`` (DOCS
``crm/deals/crm-deal-update.md``; CORP ``CCrmDealRestProxy::innerUpdate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .api import Answer, ApiError, param
from .fields import DEAL
from .php import php_int
from .query import to_storage

__all__ = ["HANDLERS"]


def _semantic(stage: str) -> str:
    tail = stage.split(":")[-1]
    return "S" if tail == "WON" else "F" if tail in ("LOSE", "APOLOGY") else "P"


def deal_update(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """Update one deal; ``true`` on success."""
    ident = php_int(param(params, "id", 0))
    if ident <= 0:
        raise ApiError("", "ID is not defined or invalid.")
    fields = param(params, "fields")
    if not isinstance(fields, Mapping):
        raise ApiError("", "The parameter 'fields' must be array.")
    changes: dict[str, Any] = {}
    for key, value in fields.items():
        f = DEAL.lookup(str(key))
        if f is None or f.read_only or f.immutable or f.kind == "fm" or f.name == DEAL.pk:
            continue
        changes[f.name] = to_storage(f, value)
    if changes.get("STAGE_ID"):
        sem = _semantic(str(changes["STAGE_ID"]))
        changes["STAGE_SEMANTIC_ID"] = sem
        changes["CLOSED"] = "N" if sem == "P" else "Y"
    changes["DATE_MODIFY"] = ctx.clock.now()
    changes["MODIFY_BY_ID"] = 1
    sets = ", ".join(f'"{k}" = ?' for k in changes)
    with ctx.store.lock:
        if not ctx.store.select('SELECT 1 FROM deals WHERE "ID" = ?', [ident]):
            raise ApiError("", "Not found")
        ctx.store.execute(f'UPDATE deals SET {sets} WHERE "ID" = ?', [*changes.values(), ident])
    return Answer(True, cost=ctx.latency.add)


HANDLERS = {"crm.deal.update": deal_update}
