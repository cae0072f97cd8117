"""Demo records as the store's tables; the result type of :func:`.demo.make_demo`.

Split from :mod:`.demo` (which decides *what* the portal holds) to keep each module short:
this part assigns IDs in creation-time order and lays the records out as the portal stores
them.

Why tables of columns: the sandbox loads 200,000 deals and 200,000 orders at start-up. A dict
per record in API form (ISO dates, nested lists) that the store then parsed back cost more
than generating the data. So :class:`DemoData` holds the store's own tables, one list per
column (Unix times, multifield rows, property rows), hands them over as they are
(:meth:`DemoData.store_tables`), and renders API-form records only when someone reads
``deals``, ``orders``, … (tests, the matcher's frames).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, wraps
from itertools import chain
from operator import itemgetter
from typing import Any

from . import demo_vocab as vocab
from .store import prop_meta

__all__ = ["DemoData", "finish", "without_gc"]

Table = dict[str, Any]  # column name -> list (one value per row) or one value for all rows
_PROPS = ("NAME", "EMAIL", "PHONE")
#: Tables in load order, with the rows per group (see :func:`.inserts.insert`).
_LOAD = (("contacts", 1), ("fm", 1), ("companies", 1), ("deals", 1), ("orders", 1),
         ("order_clients", 1), ("order_props", len(_PROPS)), ("bindings", 1))


def without_gc(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` with the cyclic GC paused: it would rescan the new dicts again and again."""
    @wraps(fn)
    def run(*args: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args)
        finally:
            if was_enabled:
                gc.enable()
    return run


@dataclass
class DemoData:
    """Demo records (the store's tables, rendered in API form on demand) and the truth.

    Attributes
    ----------
    tables : dict of str to dict
        ``contacts``, ``fm``, ``companies``, ``deals``, ``orders``, ``order_clients``,
        ``order_props``, ``bindings``: columns in storage form (see :meth:`store_tables`).
    truth : dict of int to int
        ``order_id -> real deal id`` for every order that has a real deal.
    auto_deal_ids : set of int
        IDs of the auto-created duplicate deals (for tests and benchmarks only).

    ``deals``, ``contacts``, ``companies``, ``orders`` and ``bindings`` give the records in
    the API's own field names (lists of dicts, built on first access); datetimes are ISO
    8601 with the portal's ``+03:00`` offset.
    """

    tables: dict[str, Table]
    truth: dict[int, int]
    auto_deal_ids: set[int]

    def store_tables(self) -> list[tuple[str, Table, int]]:
        """``(table, columns, period)`` in load order, for :meth:`.store.Store.load_all`.

        Meant for an empty store: IDs are explicit; what a table leaves out gets the store's
        defaults, exactly as the API-form records would.
        """
        return [(name, self.tables[name], period) for name, period in _LOAD]

    def _rows(self, table: str, keys: tuple[str, ...]) -> list[tuple]:
        cols = self.tables[table]
        return list(zip(*(cols[k] for k in keys), strict=True))

    @cached_property
    @without_gc
    def deals(self) -> list[dict[str, Any]]:
        """Deals in ``crm.deal`` field names (UPPER_CASE)."""
        return [{"ID": i, "TITLE": title, "OPPORTUNITY": amount, "CURRENCY_ID": cur,
                 "COMPANY_ID": company, "ASSIGNED_BY_ID": user, "STAGE_ID": stage,
                 "CONTACT_ID": contact, "DATE_CREATE": _iso(ts), "CATEGORY_ID": 0,
                 "CLOSED": closed, "SOURCE_ID": source}
                for i, title, amount, cur, company, user, stage, contact, ts, closed, source
                in self._rows("deals", ("ID", "TITLE", "OPPORTUNITY", "CURRENCY_ID",
                                        "COMPANY_ID", "ASSIGNED_BY_ID", "STAGE_ID",
                                        "CONTACT_ID", "DATE_CREATE", "CLOSED", "SOURCE_ID"))]

    @cached_property
    @without_gc
    def contacts(self) -> list[dict[str, Any]]:
        """Contacts with ``EMAIL`` and ``PHONE`` multifields."""
        out = [{"ID": i, "NAME": first, "LAST_NAME": last, "SECOND_NAME": None, "EMAIL": [],
                "PHONE": [], "DATE_CREATE": _iso(ts), "COMPANY_ID": company, "ASSIGNED_BY_ID": 1}
               for i, first, last, ts, company in self._rows(
                   "contacts", ("ID", "NAME", "LAST_NAME", "DATE_CREATE", "COMPANY_ID"))]
        for el, code, vtype, value in self._rows("fm", ("element_id", "type_id", "value_type",
                                                        "value")):
            out[el - 1][code].append({"VALUE": value, "VALUE_TYPE": vtype})  # IDs are 1…n
        return out

    @cached_property
    @without_gc
    def companies(self) -> list[dict[str, Any]]:
        """Companies: ``ID`` and ``TITLE``."""
        return [{"ID": i, "TITLE": title} for i, title in self._rows("companies", ("ID", "TITLE"))]

    @cached_property
    @without_gc
    def orders(self) -> list[dict[str, Any]]:
        """Orders in ``sale.order`` field names, with ``clients`` and ``properties``."""
        values = iter(self.tables["order_props"]["value"])  # NAME, EMAIL, PHONE per order
        out = [{"id": i, "accountNumber": str(i), "price": price, "currency": cur,
                "userId": user, "responsibleId": resp, "statusId": status, "payed": payed,
                "canceled": canceled, "personTypeId": ptype,
                "properties": {"NAME": next(values), "EMAIL": next(values),
                               "PHONE": next(values)},
                "clients": [], "dateInsert": (when := _iso(ts)), "dateUpdate": when,
                "lid": "s1", "companyId": None, "externalOrder": "N"}
               for i, price, cur, user, resp, status, payed, canceled, ptype, ts in self._rows(
                   "orders", ("id", "price", "currency", "userId", "responsibleId", "statusId",
                              "payed", "canceled", "personTypeId", "dateInsert"))]
        for oid, et, ref in self._rows("order_clients", ("orderId", "entityTypeId", "entityId")):
            out[oid - 1]["clients"].append({"entityTypeId": et, "entityId": ref, "isPrimary": "Y"})
        return out

    @cached_property
    @without_gc
    def bindings(self) -> list[dict[str, Any]]:
        """Order → deal bindings (``crm.orderentity`` records)."""
        return [{"orderId": o, "ownerId": d, "ownerTypeId": 2}
                for o, d in self._rows("bindings", ("orderId", "ownerId"))]


def _iso(ts: float) -> str:
    return vocab.iso(int(ts - vocab.START_TS))


def _columns(names: tuple[str | None, ...], rows: list[tuple]) -> dict[str, list[Any]]:
    """Rows as columns by name (a None name drops that field)."""
    cols = list(zip(*rows, strict=True)) or [()] * len(names)
    return {n: list(col) for n, col in zip(names, cols, strict=True) if n is not None}


def _in_time_order(rows: list[tuple], dup: bool = False
                   ) -> tuple[list[tuple], list[int], list[int]]:
    """Rows (tuples) sorted by time, their positions in that order, and each row's 1-based ID.

    ``row[0]`` is the time; with ``dup``, ``row[1]`` breaks ties (False first); the sort is
    stable. Only the tuples are reordered: at 200,000 records every access in random order
    misses the CPU caches, so reading dicts or reordering column by column costs more.
    """
    keys = [2 * row[0] + bool(row[1]) for row in rows] if dup else [row[0] for row in rows]
    order = sorted(range(len(rows)), key=keys.__getitem__)
    ids = [0] * len(order)
    for pos, k in enumerate(order, start=1):
        ids[k] = pos
    return list(map(rows.__getitem__, order)), order, ids


def _epoch(ts: list[int]) -> list[float]:
    start = vocab.START_TS
    return [start + t for t in ts]


def _contacts(g: Any, rnd: Any) -> tuple[Table, Table, list[int]]:
    """Contacts (customers and auto duplicates by time, customers first at equal times)."""
    people, _, contact_id = _in_time_order(list(map(itemgetter(
        "t", "dup", "first", "last", "email", "phone", "company", "has_email", "has_phone"),
        g.people)), dup=True)
    fm: list[tuple[int, str, str, str]] = []
    companies, has_phone, has_email = [], [], []
    fmt_phone = vocab.fmt_phone
    for cid, (_t, dup, _first, _last, email, phone, comp, e_ok, p_ok) in enumerate(people, 1):
        if dup:
            companies.append(None)
            phone2 = None
            etype = "HOME"
        else:
            companies.append(comp["ID"] if comp else None)
            email = email if e_ok else None
            etype = "WORK" if comp else "HOME"
            phone = fmt_phone(phone, int(rnd() * 8)) if p_ok else None
            phone2 = "+7" + f"495{int(rnd() * 10**7):07d}" if rnd() < 0.08 else None
        if phone:
            fm.append((cid, "PHONE", "MOBILE", phone))
        if phone2:
            fm.append((cid, "PHONE", "WORK", phone2))
        if email:
            fm.append((cid, "EMAIL", etype, email))
        has_phone.append("Y" if phone or phone2 else "N")
        has_email.append("Y" if email else "N")
    contacts = _columns(("t", None, "NAME", "LAST_NAME", None, None, None, None, None), people)
    contacts.update(ID=list(range(1, len(people) + 1)), DATE_CREATE=_epoch(contacts.pop("t")),
                    COMPANY_ID=companies, HAS_PHONE=has_phone, HAS_EMAIL=has_email,
                    SECOND_NAME=None, ASSIGNED_BY_ID=1)
    fm_cols = _columns(("element_id", "type_id", "value_type", "value"), fm)
    g.kept += [people, fm]
    return contacts, {"entity": "contact", **fm_cols}, contact_id


def finish(g: Any, r: vocab.FastRandom) -> DemoData:
    """Assign IDs in creation-time order and lay the records out as the store's tables."""
    rnd = r.random
    # Big intermediate lists go to g.kept: freed with the generator's state when the caller
    # drops it (see demo.generate), not on the way out of here, where it would add to the wait.
    contacts, fm, contact_id = _contacts(g, rnd)  # draws first: the seed's sequence is fixed
    orders, o_order, order_id = _in_time_order(g.orders)
    deals, d_order, deal_id = _in_time_order(g.deals)
    nums = list(map(g.deal_num.__getitem__, d_order))
    deal_cols, auto_ids = _deals(g, rnd, (deals, nums), (orders, order_id), contact_id)
    order_cols = _columns(("t", "price", "currency", "userId", "responsibleId", "statusId",
                           "payed", "canceled", "personTypeId", "properties", "clients", "deal",
                           None), orders)
    ids = list(range(1, len(orders) + 1))
    when = _epoch(order_cols.pop("t"))
    order_cols.update(id=ids, accountNumber=list(map(str, ids)), dateInsert=when,
                      dateUpdate=when, lid="s1", companyId=None, externalOrder="N")
    clients = _order_clients(order_cols.pop("clients"), contact_id)
    props = _order_props(ids, order_cols.pop("properties"))
    truth = {oid: deal_id[k] for oid, k in enumerate(order_cols.pop("deal"), 1) if k is not None}
    bound = [(oid, deal_id[k]) for oid, k in enumerate(
        map(g.order_bind.__getitem__, o_order), 1) if k is not None]
    tables = {
        "contacts": contacts, "fm": fm, "deals": deal_cols, "orders": order_cols,
        "companies": _columns(("ID", "TITLE"), list(map(itemgetter("ID", "TITLE"),
                                                        g.companies))),
        "order_clients": clients, "order_props": props,
        "bindings": {**_columns(("orderId", "ownerId"), bound), "ownerTypeId": 2},
    }
    g.kept += [orders, deals, order_id, deal_id, contact_id, nums]
    return DemoData(tables=tables, truth=truth, auto_deal_ids=auto_ids)


def _deals(g: Any, rnd: Any, deals_nums: tuple[list[tuple], list[int | None]],
           orders_ids: tuple[list[tuple], list[int]], contact_id: list[int]
           ) -> tuple[Table, set[int]]:
    """The deals table, and the IDs of the auto-created deals.

    An auto deal is titled after its order, in one of four styles; a real deal whose
    ``deal_num`` names an order gets that order's number worked into its title. Both need
    the orders' final IDs, so titles are written here rather than in :mod:`.demo`.
    """
    deals, nums = deals_nums
    orders, order_id = orders_ids
    auto_ids: set[int] = set()
    sources = ("CALL", "WEB", "EMAIL", "OTHER")
    titles, contact_ids, source_ids = [], [], []
    day_ru, day = vocab.DAY_RU, vocab.DAY
    for did, ((_t, auto, title, *_, no_contact, p, ok, style), num) in enumerate(
            zip(deals, nums, strict=True), 1):
        if auto:
            auto_ids.add(did)
            acc = order_id[ok]
            titles.append(f"Заказ №{acc}" if style == 0 else
                          f"Заказ №{acc} от {day_ru[orders[acc - 1][0] // day]}" if style == 1
                          else f"Order #{acc}" if style == 2 else f"Заказ {acc}")
            contact_ids.append(contact_id[p])
        else:
            if num is not None:
                acc = order_id[num]
                if g.mix.number_formats == "office":
                    title = vocab.office_ref(acc, int(rnd() * 5), day_ru[
                        orders[acc - 1][0] // day], title)
                else:
                    title = f"{title} (заказ №{acc})" if rnd() < 0.7 else f"Заказ {acc}: {title}"
            titles.append(title)
            contact_ids.append(None if no_contact else contact_id[p])
        source_ids.append(sources[int(rnd() * 4)])
    deal_cols = _columns(("t", None, None, "OPPORTUNITY", "CURRENCY_ID", "COMPANY_ID",
                          "ASSIGNED_BY_ID", "STAGE_ID", None, None, None, None), deals)
    deal_cols.update(ID=list(range(1, len(deals) + 1)), TITLE=titles, CONTACT_ID=contact_ids,
                     SOURCE_ID=source_ids, DATE_CREATE=_epoch(deal_cols.pop("t")),
                     CATEGORY_ID=0,
                     CLOSED=["Y" if s in ("WON", "LOSE") else "N" for s in deal_cols["STAGE_ID"]])
    return deal_cols, auto_ids


def _order_clients(per_order: list[list[tuple[int, int]]], contact_id: list[int]) -> Table:
    """``order_clients`` rows: a contact's position becomes its ID, a company ID stays."""
    owners, types, refs, sorts = [], [], [], []
    for oid, cl in enumerate(per_order, 1):
        for k, (et, ref) in enumerate(cl, 1):
            owners.append(oid)
            types.append(et)
            refs.append(contact_id[ref] if et == 3 else ref)
            sorts.append(100 * k)
    return {"orderId": owners, "entityTypeId": types, "entityId": refs, "sort": sorts,
            "isPrimary": "Y", "roleId": None}


def _order_props(ids: list[int], values: list[tuple]) -> Table:
    """``order_props`` rows: NAME, EMAIL and PHONE of every order, in that order."""
    metas = [prop_meta(code) for code in _PROPS]
    props: Table = dict(zip(("orderPropsId", "orderPropsXmlId", "code", "name"),
                            ([meta[j] for meta in metas] * len(ids) for j in range(4)),
                            strict=True))
    props.update(orderId=[i for i in ids for _ in _PROPS], multiple="N", type="STRING",
                 value=list(chain.from_iterable(values)))
    return props
