"""``load_orders``: online-store orders as a typed DataFrame, with the customer beside each.

An order's ``userId`` is the *employee* who entered it, not the customer (research §10). The
customer is in two other places, and we read both:

* The CRM contact (type 3) and company (type 4) the order belongs to, from
  ``crm.ordercontactcompany.list`` (controller ``OrderContactCompany::listAction`` of the crm
  module, research §11): one row per link, walked by ID like any list, 2,500 links per
  request. The docs name the method without describing it, so keys are read in either
  spelling (``orderId``/``ORDER_ID``, page key ``clients``/``CLIENTS``). A portal that
  answers ``ERROR_METHOD_NOT_FOUND`` or ``ACCESS_DENIED`` falls back — once, with a warning —
  to ``sale.order.get`` → ``clients[]``, 50 orders per request; there each call loads the
  whole order and costs server time counted against the operating budget, so 200,000 orders
  would take 4,000 requests and hours.
* The order properties: what the buyer typed at checkout (name, e-mail, phone), from
  ``sale.propertyvalue.list`` (about three rows per order, ~800 orders per request). On the
  fallback path the ``sale.order.get`` answers carry them already, at no extra request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pandas as pd

from b24nb.errors import AccessDeniedError, ListIncompleteError, MethodNotFoundError
from b24nb.listing import SharedProbe
from b24nb.load._children import (
    CLIENT_COLUMNS,
    CUSTOMER_COLUMNS,
    PROPERTY_CODES,
    clients_from_gets,
    customers,
    link_rows,
    primary_clients,
    property_rows,
    say_fallback,
)
from b24nb.load._convert import STRING, typed_frame
from b24nb.load._fields import check_fields, field_infos

__all__ = ["CLIENT_COLUMNS", "CUSTOMER_COLUMNS", "PROPERTY_CODES", "load_orders"]


def load_orders(
    portal: Any,
    filter: Mapping[str, Any] | None = None,
    select: Sequence[str] | None = None,
    clients: bool = True,
    properties: bool = True,
    progress: bool = True,
    cache: bool | str = False,
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
        ``crm.ordercontactcompany.list`` (2,500 links per request), or where the portal
        lacks it from ``sale.order.get`` → ``clients[]`` (one request per 50 orders).
    properties : bool
        Add ``customer_name``, ``customer_email`` (lower-case) and ``customer_phone`` (digits
        only) from ``sale.propertyvalue.list``, by the codes in :data:`PROPERTY_CODES`.
    progress : bool
        Show progress bars.
    cache : bool or "refresh"
        Keep the frame on disk and, next time with the same arguments, read only the orders
        updated since (``>=dateUpdate``, with their clients and properties) and the ids to
        drop deleted orders (:mod:`b24nb.load.cache`); ``"refresh"`` forces a full load.

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
    if cache:
        return _cached(portal, filter, select, clients, properties, progress, cache)
    infos = field_infos(portal, "sale.order.getFields", optional=True)
    wanted = [str(f) for f in select] if select else []
    check_fields("sale.order.list", infos, select=wanted, filter=filter)
    params: dict[str, Any] = {}
    if wanted and "*" not in wanted:
        params["select"] = list(dict.fromkeys(["id", *wanted]))
    if filter:
        params["filter"] = dict(filter)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="b24nb-orders") as pool:
        side = _SideLists(portal, pool, clients=clients, properties=properties,
                          whole=not filter, progress=progress)
        if side.whole:
            side.start([])
        rows = list(portal.list("sale.order.list", params, progress=progress,
                                spare=side.spare_orders, shared=side.shared))
        orders = _order_frame(rows, params, infos)
        del rows
        ids = [int(i) for i in orders.index]
        if not side.whole and ids:
            side.start(ids)
        props = side.props()
        if clients:
            found, props = side.clients(ids, props)
            for name in CLIENT_COLUMNS:
                orders[name] = found[name].reindex(orders.index).astype("Int64")
    if properties:
        found = customers(props or [], ids)
        for name in CUSTOMER_COLUMNS:
            orders[name] = found[name].reindex(orders.index).astype(STRING)
    return orders


def _order_frame(rows: list[dict[str, Any]], params: Mapping[str, Any],
                 infos: Mapping[str, Any]) -> pd.DataFrame:
    """The typed orders frame: the selected columns, or every field the portal sent."""
    if "select" in params:
        columns = list(params["select"])
    else:
        seen = dict.fromkeys(infos)
        for row in rows[:100]:  # fields the portal sends but does not declare
            seen.update(dict.fromkeys(row))
        columns = list(seen)
    return typed_frame(rows, columns, infos, id_field="id", index_name="order_id")


class _SideLists:
    """The customer links and the properties, listed beside the orders.

    Why beside: for the whole portal they do not depend on the orders' ids, so the three
    lists run at once within the one bucket, and their three first requests go out as one
    (:class:`~b24nb.listing.SharedProbe`). The requests that saves are spent as ``spare``
    on the longest lists — the properties (about three rows per order), then the orders —
    so the load stays within its request budget and its longest batch gets shorter.
    A filtered load starts them once the orders' ids are known.
    """

    def __init__(self, portal: Any, pool: ThreadPoolExecutor, *, clients: bool,
                 properties: bool, whole: bool, progress: bool) -> None:
        self.portal, self.pool, self.progress, self.whole = portal, pool, progress, whole
        self.want_clients, self.want_props = clients, properties
        members = 1 + int(clients) + int(properties)
        together = whole and members > 1
        self.shared = SharedProbe(portal, members) if together else None
        saved = members - 1 if together else 0
        self.spare_props = min(saved, 1) if properties else 0
        self.spare_orders = saved - self.spare_props
        self.jobs: dict[str, Future[list[dict[str, Any]]]] = {}

    def start(self, ids: Sequence[int]) -> None:
        shared = self.shared if self.whole else None
        if self.want_clients:
            self.jobs["links"] = self.pool.submit(link_rows, self.portal, ids, self.whole,
                                                  self.progress, shared=shared)
        if self.want_props:
            self.jobs["props"] = self.pool.submit(
                property_rows, self.portal, ids, whole_portal=self.whole,
                progress=self.progress, shared=shared, spare=self.spare_props)

    def props(self) -> list[dict[str, Any]] | None:
        return self.jobs["props"].result() if "props" in self.jobs else None

    def clients(self, ids: Sequence[int], props: list[dict[str, Any]] | None
                ) -> tuple[pd.DataFrame, list[dict[str, Any]] | None]:
        """Primary clients per order from the links, or from ``sale.order.get`` where the
        portal lacks the links method (whose answers carry the properties too)."""
        try:
            return primary_clients(self.jobs["links"].result() if "links" in self.jobs
                                    else [], ids), props
        except ListIncompleteError as err:
            if not isinstance(err.error, MethodNotFoundError | AccessDeniedError):
                raise
            say_fallback(self.portal, err.error)
            found, got = clients_from_gets(self.portal, ids, progress=self.progress)
            return found, (got if props is None else props)


def _cached(portal: Any, filter: Mapping[str, Any] | None, select: Sequence[str] | None,
            clients: bool, properties: bool, progress: bool, cache: bool | str
            ) -> pd.DataFrame:
    """``load_orders`` through :func:`b24nb.load.cache.warm_load`."""
    from b24nb.load.cache import Listing, warm_load

    flt = dict(filter or {})

    def load(f: Mapping[str, Any]) -> pd.DataFrame:
        return load_orders(portal, f or None, select, clients, properties, progress)

    args = {"filter": flt, "select": select, "clients": clients, "properties": properties}
    return warm_load(portal, "orders", args, cache, load=load, flt=flt,
                     listing=Listing("sale.order.list", "id", "dateUpdate"))

