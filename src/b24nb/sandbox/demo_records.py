"""Demo records rendered in the API's field names; the result type of :func:`.demo.make_demo`.

Split from :mod:`.demo` (which decides *what* the portal holds) to keep each module short:
this part assigns IDs in creation order and writes the records the way the portal stores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from . import demo_vocab as vocab

__all__ = ["DemoData", "finish"]


@dataclass
class DemoData:
    """Demo records in the API's own field names, and the ground truth.

    Attributes
    ----------
    deals, contacts, companies, orders, bindings : list of dict
        Records as the portal stores them (see the module docstring for field names).
    truth : dict of int to int
        ``order_id -> real deal id`` for every order that has a real deal.
    auto_deal_ids : set of int
        IDs of the auto-created duplicate deals (for tests and benchmarks only).
    """

    deals: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    companies: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    bindings: list[dict[str, Any]]
    truth: dict[int, int] = field(default_factory=dict)
    auto_deal_ids: set[int] = field(default_factory=set)


def _contact_record(cid: int, c: dict[str, Any], r: vocab.FastRandom) -> dict[str, Any]:
    emails = [{"VALUE": c["email"], "VALUE_TYPE": "WORK" if c["company"] else "HOME"}] \
        if c["has_email"] else []
    phones = [{"VALUE": vocab.fmt_phone(c["phone"], r.randrange(8)), "VALUE_TYPE": "MOBILE"}] \
        if c["has_phone"] else []
    if r.random() < 0.08:  # a second, older number
        phones.append({"VALUE": "+7" + f"495{r.randrange(10**7):07d}", "VALUE_TYPE": "WORK"})
    return {"ID": cid, "NAME": c["first"], "LAST_NAME": c["last"], "SECOND_NAME": None,
            "EMAIL": emails, "PHONE": phones, "DATE_CREATE": vocab.iso(c["t"]),
            "COMPANY_ID": c["company"]["ID"] if c["company"] else None, "ASSIGNED_BY_ID": 1}


def finish(g: Any, r: vocab.FastRandom) -> DemoData:
    """Assign IDs in creation order and render records in API field names."""
    # contacts: real customers (at their first appearance) and duplicates, by time
    people: list[tuple[int, int, dict[str, Any]]] = [(c["t"], 0, c) for c in g.customers]
    people += [(d["_t"], 1, d) for d in g.dup_contacts]
    people.sort(key=itemgetter(0, 1))
    contacts: list[dict[str, Any]] = []
    for cid, (t, is_dup, p) in enumerate(people, start=1):
        p["contact"] = cid
        if is_dup:
            contacts.append({
                "ID": cid, "NAME": p["NAME"], "LAST_NAME": p["LAST_NAME"], "SECOND_NAME": None,
                "EMAIL": [{"VALUE": p["_email"], "VALUE_TYPE": "HOME"}] if p["_email"] else [],
                "PHONE": [{"VALUE": p["_phone"], "VALUE_TYPE": "MOBILE"}] if p["_phone"] else [],
                "DATE_CREATE": vocab.iso(t), "COMPANY_ID": None, "ASSIGNED_BY_ID": 1})
        else:
            contacts.append(_contact_record(cid, p, r))

    # Records are finished in place (private "_" keys dropped): at 200,000 rows building a
    # second dict per record doubled the run time and the memory.
    g.orders.sort(key=itemgetter("_t"))
    for oid, o in enumerate(g.orders, start=1):
        o["id"] = oid
        o["accountNumber"] = str(oid)

    g.deals.sort(key=itemgetter("_t"))
    auto_ids: set[int] = set()
    sources = ("CALL", "WEB", "EMAIL", "OTHER")
    for did, d in enumerate(g.deals, start=1):
        d["ID"] = did
        if d.pop("_auto"):
            auto_ids.add(did)
            o = d.pop("_order")
            acc = o["accountNumber"]
            d["TITLE"] = (f"Заказ №{acc}", f"Заказ №{acc} от {vocab.DAY_RU[o['_t'] // vocab.DAY]}",
                          f"Order #{acc}", f"Заказ {acc}")[d.pop("_title_style")]
            d["CONTACT_ID"] = d.pop("_dup")["contact"]
        else:
            num = d.pop("_num", None)
            if num is not None:
                acc, title = num["accountNumber"], d["TITLE"]
                d["TITLE"] = (f"{title} (заказ №{acc})" if r.random() < 0.7
                              else f"Заказ {acc}: {title}")
            cust = d.pop("_cust")
            d["CONTACT_ID"] = None if d.pop("_no_contact") else cust["contact"]
        d["DATE_CREATE"] = vocab.iso(d.pop("_t"))
        d["CATEGORY_ID"] = 0
        d["CLOSED"] = "Y" if d["STAGE_ID"] in ("WON", "LOSE") else "N"
        d["SOURCE_ID"] = r.choice(sources)

    bindings: list[dict[str, Any]] = []
    truth: dict[int, int] = {}
    for o in g.orders:
        oid = o["id"]
        bound, deal = o.pop("_bind"), o.pop("_deal")
        if bound is not None:
            bindings.append({"orderId": oid, "ownerId": bound["ID"], "ownerTypeId": 2})
        if deal is not None:
            truth[oid] = deal["ID"]
        o["clients"] = [{"entityTypeId": et, "entityId": ref["contact"] if et == 3 else ref["ID"],
                         "isPrimary": "Y"} for et, ref in o.pop("_clients")]
        o["dateInsert"] = o["dateUpdate"] = vocab.iso(o.pop("_t"))
        del o["_cust"]
        o["lid"] = "s1"
        o["companyId"] = None
        o["externalOrder"] = "N"
    companies = [{"ID": c["ID"], "TITLE": c["TITLE"]} for c in g.companies]
    return DemoData(deals=g.deals, contacts=contacts, companies=companies, orders=g.orders,
                    bindings=bindings, truth=truth, auto_deal_ids=auto_ids)
