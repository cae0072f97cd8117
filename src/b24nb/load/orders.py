"""``load_orders``: online-store orders as a typed DataFrame, with the customer beside each.

An order's ``userId`` is the *employee* who entered it, not the customer (research §10). The
customer is in two other places, and we read both:

* ``sale.order.get`` → ``clients[]``: the CRM contact (type 3) and company (type 4) the order
  belongs to. No documented list method returns them (the docs name
  ``crm.ordercontactcompany.list`` but do not describe it), so we batch ``sale.order.get`` 50
  per request. It has no ``select``: each answer carries the whole order.
* The order properties: what the buyer typed at checkout (name, e-mail, phone). The same
  ``sale.order.get`` answers carry them in ``propertyValues``, so with ``clients=True`` they
  are read from there at no extra request; otherwise ``sale.propertyvalue.list`` lists them
  (about three rows per order, so ~800 orders per request).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from b24nb.errors import OrderNotFoundError
from b24nb.load._batch import run_batched
from b24nb.load._convert import STRING, digits, lower_email, typed_frame
from b24nb.load._fields import check_fields, field_infos

__all__ = ["CLIENT_COLUMNS", "CUSTOMER_COLUMNS", "PROPERTY_CODES", "load_orders"]

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

_CONTACT_TYPE = 3
_COMPANY_TYPE = 4
_SMALL_SET = 200  # up to this many orders, list their properties by id; else by id range


def load_orders(
    portal: Any,
    filter: Mapping[str, Any] | None = None,
    select: Sequence[str] | None = None,
    clients: bool = True,
    properties: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Load store orders into a DataFrame indexed by ``order_id``, typed from the order fields.

    Parameters
    ----------
    portal : Portal
        From :func:`b24nb.connect`.
    filter : mapping, optional
        A ``sale.order.list`` filter (camelCase: ``{">=dateInsert": "2025-01-01"}``).
    select : sequence of str, optional
        Order fields to keep; default all.
    clients : bool
        Add ``contact_id`` and ``company_id`` (the primary CRM client of each type) from
        ``sale.order.get`` → ``clients[]``: one request per 50 orders, the slow part.
    properties : bool
        Add ``customer_name``, ``customer_email`` (lower-case) and ``customer_phone`` (digits
        only) from ``sale.propertyvalue.list``, by the codes in :data:`PROPERTY_CODES`.
    progress : bool
        Show progress bars.

    Returns
    -------
    pandas.DataFrame
        Columns keep the portal's names (``accountNumber``, ``price``, ``dateInsert``…),
        dtypes from ``sale.order.getFields``: integers ``Int64``, ``double`` ``float64``,
        datetimes ``datetime64[ns, UTC]``, Y/N flags ``boolean``, text ``string``.

    Raises
    ------
    b24nb.errors.FieldError
        An unknown ``select``/``filter`` field, before any list request.

    Examples
    --------
    >>> orders = b24nb.load_orders(portal, filter={"canceled": "N"})  # doctest: +SKIP
    """
    if isinstance(select, str):
        select = [select]
    infos = field_infos(portal, "sale.order.getFields", optional=True)
    wanted = [str(f) for f in select] if select else []
    check_fields("sale.order.list", infos, select=wanted, filter=filter)

    params: dict[str, Any] = {}
    if wanted and "*" not in wanted:
        params["select"] = list(dict.fromkeys(["id", *wanted]))
    if filter:
        params["filter"] = dict(filter)
    rows = list(portal.list("sale.order.list", params, progress=progress))

    if "select" in params:
        columns = params["select"]
    else:
        seen = dict.fromkeys(infos)
        for row in rows[:100]:  # fields the portal sends but does not declare
            seen.update(dict.fromkeys(row))
        columns = list(seen)
    orders = typed_frame(rows, columns, infos, id_field="id", index_name="order_id")
    del rows

    ids = [int(i) for i in orders.index]
    props: list[Mapping[str, Any]] | None = None
    if clients:
        found, props = _clients(portal, ids, progress=progress)
        for name in CLIENT_COLUMNS:
            orders[name] = found[name].reindex(orders.index).astype("Int64")
    if properties:
        if props is None:  # not read with the orders: list them
            props = _property_rows(portal, ids, whole_portal=not filter, progress=progress)
        found = _customers(props, ids)
        for name in CUSTOMER_COLUMNS:
            orders[name] = found[name].reindex(orders.index).astype(STRING)
    return orders


def _clients(portal: Any, ids: Sequence[int], *, progress: bool
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


def _property_rows(
    portal: Any, ids: Sequence[int], *, whole_portal: bool, progress: bool
) -> list[dict[str, Any]]:
    """The customer property rows of these orders from ``sale.propertyvalue.list``."""
    if not ids:
        return []
    flt: dict[str, Any] = {"@code": list(_code_rank())}
    if not whole_portal:
        if len(ids) <= _SMALL_SET:
            flt["@orderId"] = list(ids)
        else:  # a range is one cheap filter; the few foreign orders in it are dropped below
            flt[">=orderId"], flt["<=orderId"] = min(ids), max(ids)
    params = {"select": ["orderId", "code", "value"], "filter": flt}
    return list(portal.list("sale.propertyvalue.list", params, progress=progress))


def _customers(rows: list[Mapping[str, Any]], ids: Sequence[int]) -> pd.DataFrame:
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
