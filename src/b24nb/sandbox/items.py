"""``crm.item.list`` / ``crm.item.get`` for deals (``entityTypeId=2``): the universal API.

Same deals as ``crm.deal.*``, but camelCase names, typed values and the ``items`` / ``item``
wrappers of an engine controller (``start=-1``: no ``total``, no ``next``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .api import Answer, ApiError, param
from .fields import DEAL_ITEM
from .php import php_int
from .sale import engine_list, render

__all__ = ["HANDLERS"]


def _check_type(params: Mapping[str, Any]) -> None:
    if php_int(param(params, "entityTypeId", 0)) != 2:
        raise ApiError("NOT_FOUND", "Smart process not found")


def _with_contact_ids(item: dict[str, Any]) -> dict[str, Any]:
    if "contactId" in item:
        item["contactIds"] = [item["contactId"]] if item["contactId"] else []
    return item


def item_list(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``crm.item.list``: deals under ``items``."""
    _check_type(params)
    select = param(params, "select")
    if isinstance(select, list) and "*" in select:
        select = None
    answer = engine_list(ctx, DEAL_ITEM, {**params, "select": select}, "items",
                         default_order=[("id", "ASC")], sort_keys=False)
    answer.result["items"] = [_with_contact_ids(i) for i in answer.result["items"]]
    return answer


def item_get(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``crm.item.get``: one deal under ``item``."""
    _check_type(params)
    ident = php_int(param(params, "id", 0))
    rows = ctx.store.select('SELECT * FROM deals WHERE "ID" = ?', [ident])
    if not rows:
        raise ApiError("NOT_FOUND", "Element not found")
    item = render(DEAL_ITEM, rows, [f.name for f in DEAL_ITEM.columns], sort_keys=False)[0]
    return Answer({"item": _with_contact_ids(item)}, cost=ctx.latency.get)


HANDLERS = {"crm.item.list": item_list, "crm.item.get": item_get}
