"""Engine-controller methods: ``sale.order.*``, ``sale.propertyvalue.list``, ``crm.orderentity.*``.

These answer in camelCase with *typed* values, keys sorted alphabetically (``ksort``), results
wrapped in a key (``orders``, ``order``, ``propertyValues``, ``orderEntity``, ``dealOrder``), and
numeric error codes. ``start`` is rounded down to a page of 50; ``start=-1`` returns one page
with neither ``total`` nor ``next``.

Error codes: the sale docs print them as JSON numbers and the orderentity docs as strings, so
the sandbox answers each family the way its docs show — clients must compare ``str(error)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .api import PAGE, Answer, ApiError, param
from .fields import ORDER, ORDER_CLIENT, ORDER_ENTITY, PROPERTY_VALUE, Entity
from .php import php_int
from .query import columns_for, compile_filter, compile_order, formatter

__all__ = ["HANDLERS", "binding_changes"]

_ORDER_MISSING = (200540400001, "order is not exists")


def _mapping(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {}


def _select(ent: Entity, select: Any) -> list[str]:
    items = list(select.values()) if isinstance(select, Mapping) else list(select or [])
    names = [f.name for f in (ent.lookup(str(s)) for s in items) if f is not None]
    return names or [f.name for f in ent.columns]  # empty after white-listing: everything


def render(ent: Entity, rows: list[tuple], names: list[str], *, sort_keys: bool = True,
           positions: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Typed camelCase records; sale/orderentity views ``ksort`` their keys."""
    fmt = formatter(ent, names, "sale", positions)
    if sort_keys:
        fmt.sort()  # ksort: keys in byte order
    return [{name: conv(row[i]) for name, i, conv in fmt} for row in rows]



def engine_list(ctx: Any, ent: Entity, params: Mapping[str, Any], wrapper: str, *,
                default_order: list[tuple[str, str]], int_cast: bool = False,
                sort_keys: bool = True) -> Answer:
    """A list page the way engine controllers answer (RestManager navigation rules)."""
    names = _select(ent, param(params, "select"))
    where, args = compile_filter(ent, _mapping(param(params, "filter")), int_cast_lists=int_cast)
    order_sql = compile_order(ent, _mapping(param(params, "order")), default_order)
    start = php_int(param(params, "start", 0))
    cols, pos = columns_for(ent, names)
    if start == -1:  # RestManager::DONT_CALCULATE_COUNT: first page, no total, no next
        rows, _ = ctx.store.page(ent, where, args, order_sql, 0, PAGE, False, cols)
        return Answer({wrapper: render(ent, rows, names, sort_keys=sort_keys, positions=pos)},
                      cost=ctx.latency.list_cost(0, None))
    offset = (start // PAGE) * PAGE if start > 0 else 0
    rows, total = ctx.store.page(ent, where, args, order_sql, offset, PAGE, True, cols)
    nxt = offset + len(rows) if offset + len(rows) < total else None
    return Answer({wrapper: render(ent, rows, names, sort_keys=sort_keys, positions=pos)},
                  total=total, next=nxt, cost=ctx.latency.list_cost(offset, total))


# ---------------------------------------------------------------------- sale.order
def order_list(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``sale.order.list``: typed camelCase orders under ``orders``."""
    return engine_list(ctx, ORDER, params, "orders", default_order=[("id", "ASC")])


def _order_body(ctx: Any, oid: int) -> dict[str, Any] | None:
    rows = ctx.store.select('SELECT * FROM orders WHERE "id" = ?', [oid])
    if not rows:
        return None
    body = render(ORDER, rows, [f.name for f in ORDER.columns])[0]
    clients = ctx.store.select('SELECT id, "orderId", "entityTypeId", "entityId", "isPrimary",'
                               ' "roleId", sort FROM order_clients WHERE "orderId" = ? ORDER BY'
                               ' sort, id', [oid])
    body["clients"] = [dict(sorted(zip(("id", "orderId", "entityTypeId", "entityId",
                                        "isPrimary", "roleId", "sort"), c, strict=True)))
                       for c in clients]
    props = ctx.store.select('SELECT * FROM order_props WHERE "orderId" = ? ORDER BY id', [oid])
    body["propertyValues"] = [
        {k: v for k, v in item.items() if k in ("code", "id", "name", "orderPropsId",
                                                 "orderPropsXmlId", "value")}
        for item in render(PROPERTY_VALUE, props, [f.name for f in PROPERTY_VALUE.columns])]
    nested = ctx.store.select('SELECT body FROM order_nested WHERE "orderId" = ?', [oid])
    extra = json.loads(nested[0][0]) if nested else {}
    body["basketItems"] = extra.get("basketItems", [])
    body["payments"] = extra.get("payments", [])
    body["shipments"] = extra.get("shipments", [])
    body["tradeBindings"] = []
    body["requisiteLink"] = {"bankDetailId": 0, "mcBankDetailId": 0, "mcRequisiteId": 0,
                             "requisiteId": 0}
    return dict(sorted(body.items()))


def order_get(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``sale.order.get``: the order with ``clients`` and ``propertyValues`` under ``order``."""
    raw = param(params, "id")
    if raw is None:
        raise ApiError(100, "Could not find value for parameter {id}")
    body = _order_body(ctx, php_int(raw))
    if body is None:
        raise ApiError(*_ORDER_MISSING)
    return Answer({"order": body}, cost=ctx.latency.order_get)


def order_add(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``sale.order.add``; like a real portal, it also creates a deal bound to the new order."""
    fields = _mapping(param(params, "fields"))
    missing = [n for n in ("lid", "personTypeId", "currency") if fields.get(n) is None]
    if missing:
        raise ApiError(0, "Required fields: " + ", ".join(missing))
    record = {k: v for k, v in fields.items()
              if (f := ORDER.lookup(k)) is not None and not f.read_only}
    for nested in ("clients", "properties", "basketItems"):
        if nested in fields:
            record[nested] = fields[nested]
    oid = ctx.store.add_orders([record])[0]
    cost = ctx.latency.add
    if ctx.auto_deals:
        ctx.create_order_deal(oid)
        cost += ctx.latency.add
    return Answer({"order": _order_body(ctx, oid)}, cost=cost)


def order_fields(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``sale.order.getFields``: field metadata under ``order``, keys sorted."""
    info = {f.name: {"isImmutable": f.immutable, "isReadOnly": f.read_only,
                     "isRequired": f.required, "type": f.api_type} for f in ORDER.columns}
    return Answer({"order": dict(sorted(info.items()))}, cost=ctx.latency.call)


def propertyvalue_list(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``sale.propertyvalue.list``: where the customer's name, e-mail and phone live."""
    return engine_list(ctx, PROPERTY_VALUE, params, "propertyValues",
                        default_order=[("id", "ASC")])


# ---------------------------------------------------------------------- crm.ordercontactcompany
def ordercontactcompany_list(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``crm.ordercontactcompany.list``: order ↔ CRM contact/company links under ``clients``.

    ``OrderContactCompany::listAction`` returns ``new Page('CLIENTS', …)``; the REST view
    turns the key and the field names camelCase (``orderId``, ``entityTypeId``…), default
    order ``ID ASC``, pages of 50 with ``total``, ``start=-1`` without it.
    """
    return engine_list(ctx, ORDER_CLIENT, params, "clients", default_order=[("id", "ASC")])


def ordercontactcompany_fields(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``crm.ordercontactcompany.getFields``: field infos under ``client``."""
    info = {f.name: {"isImmutable": f.immutable, "isReadOnly": f.read_only,
                     "isRequired": f.required, "type": f.api_type} for f in ORDER_CLIENT.columns}
    return Answer({"client": dict(sorted(info.items()))}, cost=ctx.latency.call)


# ---------------------------------------------------------------------- crm.orderentity
def _binding_fields(params: Mapping[str, Any]) -> dict[str, int]:
    fields = _mapping(param(params, "fields"))
    # Internalizer: camelCase → white-listed; CHECK_REQUIRED uses isset (null = missing)
    missing = [n for n in ("ownerId", "ownerTypeId", "orderId") if fields.get(n) is None]
    if missing:
        raise ApiError("0", "Required fields: " + ", ".join(missing))
    return {n: php_int(fields[n]) for n in ("orderId", "ownerId", "ownerTypeId")}


def _order_exists(ctx: Any, oid: int) -> bool:
    return bool(ctx.store.select('SELECT 1 FROM orders WHERE "id" = ?', [oid]))


def _binding(ctx: Any, f: Mapping[str, int]) -> bool:
    return bool(ctx.store.select(
        'SELECT 1 FROM bindings WHERE "orderId" = ? AND "ownerId" = ? AND "ownerTypeId" = ?',
        [f["orderId"], f["ownerId"], f["ownerTypeId"]]))


_AUDIT = ('CREATE TABLE IF NOT EXISTS binding_changes (seq INTEGER PRIMARY KEY, at REAL, '
          '"orderId" INTEGER, "oldOwnerId" INTEGER, "oldOwnerTypeId" INTEGER, '
          '"ownerId" INTEGER, "ownerTypeId" INTEGER)')


def _audit(ctx: Any, order: int, new: tuple[int, int] | None) -> None:
    """Record what a binding write replaced (the server keeps no such log; tests read it).

    Why: a silent replace leaves no trace on the portal, so a test that must prove "no order
    was moved behind anyone's back" needs the emulator's own record of every change.
    """
    ctx.store.execute(_AUDIT)
    old = ctx.store.select('SELECT "ownerId", "ownerTypeId" FROM bindings WHERE "orderId" = ?',
                           [order])
    was = old[0] if old else (None, None)
    now = new or (None, None)
    ctx.store.execute('INSERT INTO binding_changes (at, "orderId", "oldOwnerId", '
                      '"oldOwnerTypeId", "ownerId", "ownerTypeId") VALUES (?, ?, ?, ?, ?, ?)',
                      [ctx.clock.now(), order, was[0], was[1], now[0], now[1]])


def binding_changes(store: Any) -> list[dict[str, Any]]:
    """Every binding write the sandbox served, oldest first: what it replaced, what it set."""
    store.execute(_AUDIT)
    names = ("seq", "at", "orderId", "oldOwnerId", "oldOwnerTypeId", "ownerId", "ownerTypeId")
    return [dict(zip(names, r, strict=True))
            for r in store.select(f"SELECT {', '.join(chr(34) + n + chr(34) for n in names)} "
                                  "FROM binding_changes ORDER BY seq")]


def orderentity_add(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """Bind an order to an owner; a second owner replaces the first without a word."""
    f = _binding_fields(params)
    with ctx.store.lock:
        if _binding(ctx, f):
            raise ApiError("201650000001",
                           "Duplicate entry for key [ownerId, ownerTypeId, orderId]")
        if not _order_exists(ctx, f["orderId"]):
            raise ApiError(str(_ORDER_MISSING[0]), _ORDER_MISSING[1])
        if not f["ownerId"]:
            # setEntityBinding sets nothing; the answer is read from a row that isn't there
            return Answer({"dealOrder": None}, cost=ctx.latency.bind)
        _audit(ctx, f["orderId"], (f["ownerId"], f["ownerTypeId"]))
        ctx.store.execute("INSERT OR REPLACE INTO bindings VALUES (?, ?, ?)",
                          [f["orderId"], f["ownerId"], f["ownerTypeId"]])
    return Answer({"dealOrder": dict(sorted(f.items()))}, cost=ctx.latency.bind)


def orderentity_delete(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """Remove one exact (orderId, ownerId, ownerTypeId) binding."""
    f = _binding_fields(params)
    with ctx.store.lock:
        if not _binding(ctx, f):
            raise ApiError("201640400004", "entity relation is not exists")
        if not _order_exists(ctx, f["orderId"]):
            raise ApiError(str(_ORDER_MISSING[0]), _ORDER_MISSING[1])
        _audit(ctx, f["orderId"], None)
        ctx.store.execute('DELETE FROM bindings WHERE "orderId" = ?', [f["orderId"]])
    return Answer(True, cost=ctx.latency.bind)


def orderentity_list(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """List bindings under ``orderEntity``; every filter value goes through ``(int)``."""
    return engine_list(ctx, ORDER_ENTITY, params, "orderEntity",
                        default_order=[("ownerId", "ASC")], int_cast=True)


def orderentity_fields(ctx: Any, params: Mapping[str, Any]) -> Answer:
    """``crm.orderentity.getFields``: three immutable, required integers."""
    info = {"isImmutable": True, "isReadOnly": False, "isRequired": True, "type": "integer"}
    return Answer({"orderEntity": {n: dict(info) for n in ("orderId", "ownerId", "ownerTypeId")}},
                  cost=ctx.latency.call)


def deal_for_order(ctx: Any, oid: int) -> dict[str, Any]:
    """The fields of the deal a real portal auto-creates for a new order (research §10)."""
    row = ctx.store.select('SELECT "accountNumber", price, currency, "dateInsert", '
                           '"responsibleId" FROM orders WHERE id = ?', [oid])[0]
    return {"TITLE": f"Заказ №{row[0]}", "OPPORTUNITY": row[1], "CURRENCY_ID": row[2],
            "ASSIGNED_BY_ID": row[4], "STAGE_ID": "NEW", "IS_MANUAL_OPPORTUNITY": "N"}


HANDLERS = {
    "sale.order.list": order_list,
    "sale.order.get": order_get,
    "sale.order.add": order_add,
    "sale.order.getfields": order_fields,
    "sale.propertyvalue.list": propertyvalue_list,
    "crm.ordercontactcompany.list": ordercontactcompany_list,
    "crm.ordercontactcompany.getfields": ordercontactcompany_fields,
    "crm.orderentity.add": orderentity_add,
    "crm.orderentity.deletebyfilter": orderentity_delete,
    "crm.orderentity.list": orderentity_list,
    "crm.orderentity.getfields": orderentity_fields,
}
