"""Legacy CRM methods: ``crm.deal.*``, ``crm.contact.*``, ``crm.company.*``.

Legacy CRM answers in UPPER_SNAKE names with almost every scalar as a *string* (``"ID": "37"``,
``"OPPORTUNITY": "19999.99"``), empty references as ``null``, and errors with an *empty*
``error`` code and HTTP 400. Paging is by ``start`` rounded down to a page of 50; ``start=-1``
returns one page with no count (``total`` 0, no ``next``), the fast path of the ``>ID`` walk.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .api import PAGE, Answer, ApiError, param
from .fields import COMPANY, CONTACT, DEAL, Entity
from .php import php_int
from .query import columns_for, compile_filter, compile_order, formatter

__all__ = ["HANDLERS"]

_STATUS_TYPES = {("deal", "STAGE_ID"): "DEAL_STAGE", ("deal", "TYPE_ID"): "DEAL_TYPE",
                 ("deal", "SOURCE_ID"): "SOURCE", ("contact", "TYPE_ID"): "CONTACT_TYPE",
                 ("contact", "SOURCE_ID"): "SOURCE", ("contact", "HONORIFIC"): "HONORIFIC",
                 ("company", "COMPANY_TYPE"): "COMPANY_TYPE", ("company", "INDUSTRY"): "INDUSTRY",
                 ("company", "EMPLOYEES"): "EMPLOYEES"}


def _array_param(params: Mapping[str, Any], name: str) -> Any:
    value = param(params, name)
    if value is None or value == "":
        return {} if name != "select" else []
    if name == "select" and isinstance(value, str):
        return [value]
    if name != "select" and not isinstance(value, Mapping):
        if isinstance(value, list):  # a PHP array all the same; keys 0, 1, … match no field
            return {str(i): v for i, v in enumerate(value)}
        raise ApiError("", f"Parameter '{name}' must be array.")
    return value


def _select_names(ent: Entity, select: Any) -> tuple[list[str], list[str]]:
    """Columns and multifields a legacy ``select`` asks for (ID always included)."""
    items = list(select.values()) if isinstance(select, Mapping) else list(select or [])
    if not items:
        items = ["*", "UF_*"]
    cols: list[str] = []
    fms: list[str] = []
    for item in items:
        name = str(item)
        if name == "*":
            cols.extend(f.name for f in ent.columns if f.name not in cols)
            continue
        f = ent.lookup(name)
        if f is None:
            continue  # unknown names, UF_* with no user fields: silently nothing
        target = fms if f.kind == "fm" else cols
        if f.name not in target:
            target.append(f.name)
    if ent.pk not in cols:
        cols.insert(0, ent.pk)
    return cols, fms


def _render(ctx: Any, ent: Entity, rows: list[tuple], cols: list[str], fms: list[str],
            positions: dict[str, int] | None = None) -> list[dict[str, Any]]:
    fmt = formatter(ent, cols, "crm", positions)
    out = [{name: conv(row[i]) for name, i, conv in fmt} for row in rows]
    if fms and rows:
        multi = ctx.store.multifields(ent.name, [r[0] for r in rows])
        for item, row in zip(out, rows, strict=True):
            own = multi.get(row[0], {})
            for code in fms:
                if code in own:
                    item[code] = own[code]
    return out


def _list(ent: Entity):
    def handler(ctx: Any, params: Mapping[str, Any]) -> Answer:
        flt = _array_param(params, "filter")
        order = _array_param(params, "order")
        cols, fms = _select_names(ent, _array_param(params, "select"))
        start = php_int(param(params, "start", 0))
        where, args = compile_filter(ent, flt, fm_table="fm")
        order_sql = compile_order(ent, order, [(ent.pk, "ASC")])
        sql_cols, pos = columns_for(ent, cols)
        if start < 0:
            rows, _ = ctx.store.page(ent, where, args, order_sql, 0, PAGE, False, sql_cols)
            # nTopCount mode: no count, no next; NavRecordCount stays 0
            return Answer(_render(ctx, ent, rows, cols, fms, pos), total=0,
                          cost=ctx.latency.list_cost(0, None))
        offset = (start // PAGE) * PAGE  # iNumPage = intval(start / 50) + 1
        rows, total = ctx.store.page(ent, where, args, order_sql, offset, PAGE, True, sql_cols)
        nxt = offset + PAGE if offset + PAGE < total else None
        return Answer(_render(ctx, ent, rows, cols, fms, pos), total=total, next=nxt,
                      cost=ctx.latency.list_cost(offset, total))
    return handler


def _get(ent: Entity):
    def handler(ctx: Any, params: Mapping[str, Any]) -> Answer:
        ident = php_int(param(params, "id", 0))
        if ident <= 0:
            raise ApiError("", "ID is not defined or invalid.")
        rows = ctx.store.select(f'SELECT * FROM {ent.table} WHERE "{ent.pk}" = ?', [ident])
        if not rows:
            raise ApiError("", "Not found")
        cols = [f.name for f in ent.columns]
        fms = [f.name for f in ent.fields if f.kind == "fm"]
        return Answer(_render(ctx, ent, rows, cols, fms)[0], cost=ctx.latency.get)
    return handler


def _fields(ent: Entity):
    def handler(ctx: Any, params: Mapping[str, Any]) -> Answer:
        out: dict[str, Any] = {}
        for f in ent.fields:
            info: dict[str, Any] = {
                "type": f.api_type, "isRequired": f.required, "isReadOnly": f.read_only,
                "isImmutable": f.immutable, "isMultiple": f.kind == "fm", "isDynamic": False,
                "title": f.title}
            status = _STATUS_TYPES.get((ent.name, f.name))
            if status:
                info["statusType"] = status
            out[f.name] = info
        return Answer(out, cost=ctx.latency.call)
    return handler


def _add(ent: Entity):
    def handler(ctx: Any, params: Mapping[str, Any]) -> Answer:
        fields = param(params, "fields")
        if not isinstance(fields, Mapping):
            raise ApiError("", "The parameter 'fields' must be array.")
        clean: dict[str, Any] = {}
        for key, value in fields.items():
            f = ent.lookup(str(key))
            if f is None or f.name == ent.pk or (f.read_only and f.kind != "fm"):
                continue  # read-only and unknown fields are ignored on add
            clean[f.name] = value
        ids = ctx.store.add_deals([clean]) if ent is DEAL else ctx.store.add_people(ent, [clean])
        return Answer(ids[0], cost=ctx.latency.add)
    return handler


HANDLERS = {}
for _ent, _prefix in ((DEAL, "crm.deal"), (CONTACT, "crm.contact"), (COMPANY, "crm.company")):
    HANDLERS[f"{_prefix}.list"] = _list(_ent)
    HANDLERS[f"{_prefix}.get"] = _get(_ent)
    HANDLERS[f"{_prefix}.fields"] = _fields(_ent)
    HANDLERS[f"{_prefix}.add"] = _add(_ent)
