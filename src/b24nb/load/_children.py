"""The rows that hang off orders: customer links and property values, by order id.

``load_orders`` reads the orders themselves; this module owns what it joins to them:

* the CRM clients (``contact_id``, ``company_id``) from ``crm.ordercontactcompany.list``
  links, or — on a portal without that method — from ``sale.order.get`` → ``clients[]``
  (said once per portal, with a warning: 50 orders per request);
* the customer as typed at checkout (``customer_*``) from ``sale.propertyvalue.list``, by
  the codes in :data:`PROPERTY_CODES`.

For the whole portal both lists are read as they are; for a filtered load they are narrowed
to the orders' ids (a range when the ids are dense, else sets of 200).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from b24nb.errors import OrderNotFoundError
from b24nb.listing import SharedProbe
from b24nb.load._batch import run_batched
from b24nb.load._convert import STRING, digits, lower_email

__all__ = ["CLIENT_COLUMNS", "CUSTOMER_COLUMNS", "LINKS_METHOD", "PROPERTY_CODES",
           "clients_from_gets", "customers", "link_rows", "primary_clients", "property_rows",
           "say_fallback"]

log = logging.getLogger(__name__)

CLIENT_COLUMNS: tuple[str, ...] = ("contact_id", "company_id")
CUSTOMER_COLUMNS: tuple[str, ...] = ("customer_name", "customer_email", "customer_phone")

#: Order-property codes that carry the customer, best first. Codes are per portal; these are
#: the ones Bitrix24's stock person types use (individual: FIO/EMAIL/PHONE; legal entity:
#: CONTACT_PERSON/COMPANY/EMAIL/PHONE) plus common variants. Extend it for a custom portal.
PROPERTY_CODES: dict[str, tuple[str, ...]] = {
    "customer_name": ("NAME", "FIO", "CONTACT_PERSON", "CONTACT_NAME", "FULL_NAME",
                      "PAYER_NAME", "COMPANY"),
    "customer_email": ("EMAIL", "E_MAIL", "CONTACT_EMAIL"),
    "customer_phone": ("PHONE", "CONTACT_PHONE", "MOBILE_PHONE", "TEL"),
}
LINKS_METHOD = "crm.ordercontactcompany.list"
FELL_BACK: set[str] = set()  # portal hosts already told about the fallback (say it once)
_CONTACT_TYPE = 3
_COMPANY_TYPE = 4
_SMALL_SET = 200  # up to this many orders, list their properties by id; else by id range


def say_fallback(portal: Any, error: Exception) -> None:
    """Warn once per portal that customers come from the slow ``sale.order.get`` path."""
    host = str(getattr(portal, "host", ""))
    if host in FELL_BACK:
        return
    FELL_BACK.add(host)
    code = getattr(error, "code", "") or type(error).__name__
    note = (f"{LINKS_METHOD} is not available on this portal ({code}); reading order "
            "customers with sale.order.get instead, 50 orders per request (slow on big portals)")
    log.warning(note)
    warnings.warn(note, stacklevel=4)  # the caller of load_orders


def _id_filters(ids: Sequence[int], whole_portal: bool, key: str = "orderId"
                ) -> list[dict[str, Any]]:
    """Filters narrowing child rows to these orders, each listed on its own.

    None for the whole portal; an id range when the ids are dense in it (one cheap filter,
    the few foreign orders in it are dropped by the caller); otherwise id sets of 200 — a
    warm reload's few hundred edited orders are spread over the whole table, and a range
    around them would list every link and property of the portal.
    """
    if whole_portal:
        return [{}]
    if not ids:
        return []
    lo, hi = min(ids), max(ids)
    if len(ids) > _SMALL_SET and hi - lo + 1 <= 2 * len(ids):
        return [{f">={key}": lo, f"<={key}": hi}]
    ordered = sorted(ids)
    return [{f"@{key}": list(ordered[i:i + _SMALL_SET])}
            for i in range(0, len(ordered), _SMALL_SET)]


def _each_filter(portal: Any, method: str, params: Mapping[str, Any],
                 filters: list[dict[str, Any]], progress: bool, *,
                 shared: SharedProbe | None = None, spare: int = 0) -> list[dict[str, Any]]:
    """Rows of ``method`` for each filter in turn; only a single (whole-portal) filter uses
    the shared first request and the spare requests, which are planned for one list."""
    rows: list[dict[str, Any]] = []
    one = len(filters) == 1
    for extra in filters:
        flt = {**dict(params.get("filter") or {}), **extra}
        rows.extend(portal.list(method, {**params, "filter": flt}, progress=progress,
                                spare=spare if one else 0, shared=shared if one else None))
    return rows


def _get(row: Mapping[str, Any], camel: str, upper: str) -> Any:
    value = row.get(camel)
    return row.get(upper) if value is None else value


def link_rows(portal: Any, ids: Sequence[int], whole_portal: bool, progress: bool, *,
               shared: SharedProbe | None = None) -> list[dict[str, Any]]:
    """The order ↔ contact/company links from ``crm.ordercontactcompany.list``."""
    params: dict[str, Any] = {"select": ["id", "orderId", "entityTypeId", "entityId",
                                         "isPrimary", "sort"]}
    return _each_filter(portal, LINKS_METHOD, params, _id_filters(ids, whole_portal), progress,
                        shared=shared)


def primary_clients(rows: list[dict[str, Any]], ids: Sequence[int]) -> pd.DataFrame:
    """Primary contact and company of each order, from its link rows (either key spelling)."""
    links = pd.DataFrame({
        "order": pd.to_numeric(pd.Series([_get(r, "orderId", "ORDER_ID") for r in rows],
                                         dtype=object), errors="coerce"),
        "type": pd.to_numeric(pd.Series([_get(r, "entityTypeId", "ENTITY_TYPE_ID")
                                         for r in rows], dtype=object), errors="coerce"),
        "entity": pd.to_numeric(pd.Series([_get(r, "entityId", "ENTITY_ID") for r in rows],
                                          dtype=object), errors="coerce"),
        "primary": pd.Series([str(_get(r, "isPrimary", "IS_PRIMARY") or "").upper()
                              in ("Y", "TRUE", "1") for r in rows], dtype=bool),
        "sort": pd.to_numeric(pd.Series([_get(r, "sort", "SORT") for r in rows],
                                        dtype=object), errors="coerce").fillna(0),
    })
    del rows
    links = links[(links["entity"] > 0) & links["order"].notna()]
    # the one of each type marked primary, else the first by sort (then the smallest id),
    # the same rule as on the sale.order.get path
    links = links.assign(rank=(~links["primary"]).astype(int)).sort_values(
        ["order", "type", "rank", "sort", "entity"], kind="stable")
    best = links.drop_duplicates(["order", "type"])
    index = pd.Index(pd.array(ids, dtype="Int64"), name="order_id")
    out = pd.DataFrame(index=index)
    for name, etype in (("contact_id", _CONTACT_TYPE), ("company_id", _COMPANY_TYPE)):
        part = best[best["type"] == etype]
        series = pd.Series(part["entity"].to_numpy(), index=part["order"].astype("int64"))
        out[name] = pd.array(series.reindex(list(ids)).to_numpy(), dtype="Int64")
    return out


def clients_from_gets(portal: Any, ids: Sequence[int], *, progress: bool
             ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Primary contact and company of each order from ``sale.order.get`` → ``clients[]``.

    Also returns the customer property rows (``orderId``, ``code``, ``value``) found in the
    same answers' ``propertyValues``, so they need not be listed again.
    """
    commands = ((f"o{i}", ("sale.order.get", {"id": i})) for i in ids)
    order_ids: list[int] = []
    contact: list[Any] = []
    company: list[Any] = []
    props: list[dict[str, Any]] = []
    wanted = {code for codes in PROPERTY_CODES.values() for code in codes}
    # An order deleted between the list and the get has no clients; any other failure raises.
    answers = run_batched(portal, commands, len(ids), desc="sale.order.get", progress=progress,
                          skip=lambda error: isinstance(error, OrderNotFoundError))
    for key, result in answers:
        order = result.get("order", result) if isinstance(result, Mapping) else {}
        links = order.get("clients") or []
        oid = int(key[1:])
        order_ids.append(oid)
        contact.append(_primary(links, _CONTACT_TYPE))
        company.append(_primary(links, _COMPANY_TYPE))
        for pv in order.get("propertyValues") or ():
            if isinstance(pv, Mapping) and str(pv.get("code") or "").upper() in wanted:
                props.append({"orderId": oid, "code": pv.get("code"), "value": pv.get("value")})
    index = pd.Index(pd.array(order_ids, dtype="Int64"), name="order_id")
    frame = pd.DataFrame(
        {"contact_id": pd.array(contact, dtype="Int64"),
         "company_id": pd.array(company, dtype="Int64")},
        index=index,
    )
    return frame, props


def _primary(links: Sequence[Mapping[str, Any]], entity_type: int) -> int | None:
    """The client of one CRM type: the one marked primary, else the first by ``sort``."""
    best: tuple[int, float, int] | None = None
    for link in links:
        try:
            if int(link.get("entityTypeId") or 0) != entity_type:
                continue
            entity = int(link.get("entityId") or 0)
        except (TypeError, ValueError):
            continue
        if entity <= 0:
            continue
        rank = (0 if str(link.get("isPrimary", "")).upper() in ("Y", "TRUE", "1") else 1,
                float(link.get("sort") or 0), entity)
        if best is None or rank < best:
            best = rank
    return None if best is None else best[2]


def _code_rank() -> dict[str, tuple[str, int]]:
    return {code: (target, rank) for target, codes in PROPERTY_CODES.items()
            for rank, code in enumerate(codes)}


def property_rows(
    portal: Any, ids: Sequence[int], *, whole_portal: bool, progress: bool,
    shared: SharedProbe | None = None, spare: int = 0,
) -> list[dict[str, Any]]:
    """The customer property rows of these orders from ``sale.propertyvalue.list``."""
    if not ids and not whole_portal:
        return []
    params = {"select": ["orderId", "code", "value"], "filter": {"@code": list(_code_rank())}}
    return _each_filter(portal, "sale.propertyvalue.list", params,
                        _id_filters(ids, whole_portal), progress, shared=shared, spare=spare)


def customers(rows: list[Mapping[str, Any]], ids: Sequence[int]) -> pd.DataFrame:
    """``customer_*`` per order from its property rows, normalised for matching."""
    code_rank = _code_rank()
    if not ids:
        return pd.DataFrame(columns=list(CUSTOMER_COLUMNS), dtype=STRING)

    props = pd.DataFrame(
        {
            "order": pd.array(pd.to_numeric(pd.Series([r.get("orderId") for r in rows],
                                                      dtype=object)), dtype="Int64"),
            "code": pd.Series([r.get("code") for r in rows], dtype=object).astype(STRING)
            .str.upper(),
            "value": pd.Series([r.get("value") for r in rows], dtype=object).astype(STRING)
            .str.strip(),
        }
    )
    del rows
    keep = props["order"].isin(ids) & props["value"].fillna("").ne("")
    props = props[keep.fillna(False).astype(bool)]
    props["target"] = props["code"].map({c: t for c, (t, _) in code_rank.items()})
    props["rank"] = props["code"].map({c: r for c, (_, r) in code_rank.items()})
    props = props.dropna(subset=["target"]).sort_values(["order", "rank"], kind="stable")
    best = props.drop_duplicates(["order", "target"]).pivot(
        index="order", columns="target", values="value"
    )
    best = best.reindex(columns=list(CUSTOMER_COLUMNS)).astype(STRING)
    best["customer_email"] = lower_email(best["customer_email"])
    best["customer_phone"] = digits(best["customer_phone"])
    return best
