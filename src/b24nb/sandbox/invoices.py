"""Invoices on the emulated portal: ``crm.item.*`` with ``entityTypeId=31`` and ``crm.invoice.*``.

Smart invoices answer like every universal-API item (camelCase, typed values, ``items`` /
``item`` / ``fields`` wrappers, ``start=-1`` without ``total``); legacy invoices answer like
``crm.deal.*`` (UPPER_SNAKE names, strings, empty error code with HTTP 400). ``crm.item.*``
calls for other entity types go on to the deals' handlers (:mod:`.items`).

:func:`add_invoices` seeds either table, filling what a new invoice gets on the server when
a field is not given (stage/status, currency, dates, the creator).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import items
from .api import Answer, ApiError, param
from .crm import _fields, _get, _list
from .fields import DEAL_ITEM, Entity
from .invoice_fields import INVOICE, SMART_INVOICE
from .php import php_int
from .query import to_storage
from .sale import engine_list, render

__all__ = ["HANDLERS", "add_invoices"]

SMART_TYPE = 31


def _type(params: Mapping[str, Any]) -> int:
    return php_int(param(params, "entityTypeId", 0))


def _with_contact_ids(item: dict[str, Any]) -> dict[str, Any]:
    if "contactId" in item:
        item["contactIds"] = [item["contactId"]] if item["contactId"] else []
    return item


def item_list(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``crm.item.list``: smart invoices for type 31, deals (or NOT_FOUND) otherwise."""
    if _type(params) != SMART_TYPE:
        return items.item_list(ctx, params)
    select = param(params, "select")
    if isinstance(select, list) and "*" in select:
        select = None
    answer = engine_list(ctx, SMART_INVOICE, {**params, "select": select}, "items",
                         default_order=[("id", "ASC")], sort_keys=False)
    answer.result["items"] = [_with_contact_ids(i) for i in answer.result["items"]]
    return answer


def item_get(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``crm.item.get``: one smart invoice under ``item`` for type 31."""
    if _type(params) != SMART_TYPE:
        return items.item_get(ctx, params)
    ident = php_int(param(params, "id", 0))
    rows = ctx.store.select(f'SELECT * FROM {SMART_INVOICE.table} WHERE "id" = ?', [ident])
    if not rows:
        raise ApiError("NOT_FOUND", "Element not found")
    item = render(SMART_INVOICE, rows, [f.name for f in SMART_INVOICE.columns],
                  sort_keys=False)[0]
    return Answer({"item": _with_contact_ids(item)}, cost=ctx.latency.get)


def item_fields(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``crm.item.fields``: ``{"fields": {camelName: meta + upperName}}`` (types 2 and 31)."""
    kind = _type(params)
    ent = {SMART_TYPE: SMART_INVOICE, 2: DEAL_ITEM}.get(kind)
    if ent is None:
        raise ApiError("NOT_FOUND", "Smart process not found")
    out = {}
    for f in ent.fields:
        out[f.name] = {"type": f.api_type, "isRequired": f.required, "isReadOnly": f.read_only,
                       "isImmutable": f.immutable, "isMultiple": False, "isDynamic": False,
                       "title": f.title, "upperName": _upper(f.name)}
    return Answer({"fields": out}, cost=ctx.latency.call)


def _upper(camel: str) -> str:
    return "".join("_" + c if c.isupper() else c.upper() for c in camel).lstrip("_")


# ---------------------------------------------------------------------- seeding
_FILL_SMART = {"categoryId": 0, "opened": "Y", "stageId": "DT31_1:N", "currencyId": "RUB",
               "isManualOpportunity": "N", "taxValue": 0.0, "entityTypeId": SMART_TYPE,
               "assignedById": 1}
_FILL_LEGACY = {"STATUS_ID": "N", "CURRENCY": "RUB", "PAYED": "N", "PERSON_TYPE_ID": 1,
                "PAY_SYSTEM_ID": 1, "RESPONSIBLE_ID": 1, "LID": "s1", "IS_RECURRING": "N",
                "TAX_VALUE": 0.0}


def _defaults(ent: Entity, rec: dict[str, Any], now: float) -> None:
    if ent is SMART_INVOICE:
        for k, v in _FILL_SMART.items():
            rec.setdefault(k, v)
        rec.setdefault("createdTime", now)
        rec.setdefault("updatedTime", rec["createdTime"])
        rec.setdefault("movedTime", rec["createdTime"])
        rec.setdefault("begindate", rec["createdTime"])
        for who in ("createdBy", "updatedBy", "movedBy"):
            rec.setdefault(who, rec["assignedById"])
    else:
        for k, v in _FILL_LEGACY.items():
            rec.setdefault(k, v)
        rec.setdefault("DATE_INSERT", now)
        rec.setdefault("DATE_UPDATE", rec["DATE_INSERT"])
        rec.setdefault("DATE_STATUS", rec["DATE_INSERT"])
        rec.setdefault("DATE_BILL", rec["DATE_INSERT"])
        rec.setdefault("CREATED_BY", rec["RESPONSIBLE_ID"])
        rec.setdefault("ORDER_TOPIC", f"Счёт №{rec.get('ACCOUNT_NUMBER', '')}")


def add_invoices(store: Any, ent: Entity, records: Iterable[Mapping[str, Any]],
                 now: float) -> list[int]:
    """Insert smart (``SMART_INVOICE``) or legacy (``INVOICE``) invoices; returns their IDs.

    Values are in API form (ISO dates or Unix times); an absent ID is numbered on.
    """
    names = [f.name for f in ent.columns]
    fields = [ent.lookup(n) for n in names]
    ids: list[int] = []
    rows: list[list[Any]] = []
    with store.lock:
        nxt = store.db.execute(
            f'SELECT COALESCE(MAX("{ent.pk}"), 0) + 1 FROM {ent.table}').fetchone()[0]
        for raw in records:
            rec = {f.name: raw[k] for k in raw if (f := ent.lookup(str(k))) is not None}
            ident = php_int(rec.get(ent.pk) or 0) or nxt
            nxt = max(nxt, ident + 1)
            rec[ent.pk] = ident
            _defaults(ent, rec, now)
            if ent is SMART_INVOICE:
                rec.setdefault("accountNumber", f"СЧ-{ident}")
                rec.setdefault("title", f"Счёт №{rec['accountNumber']}")
            else:
                rec.setdefault("ACCOUNT_NUMBER", str(ident))
            rows.append([to_storage(f, rec.get(n)) for f, n in zip(fields, names, strict=True)])
            ids.append(ident)
        store.db.executemany(f"INSERT OR REPLACE INTO {ent.table} VALUES "
                             f"({','.join('?' * len(names))})", rows)
    return ids


HANDLERS = {
    "crm.item.list": item_list,
    "crm.item.get": item_get,
    "crm.item.fields": item_fields,
    "crm.invoice.list": _list(INVOICE),
    "crm.invoice.get": _get(INVOICE),
    "crm.invoice.fields": _fields(INVOICE),
}
