"""Demo invoices: orders whose true owner is a smart or a legacy invoice, and linkage faults.

Why: ``crm.orderentity.add`` binds an order to a deal *or an invoice*, and a health report
needs a portal with every kind of linkage problem in known places. This module adds to the
default demo portal (:mod:`.demo`) without changing any of its deals, orders or contacts:
it only takes orders that have no real deal and no binding, writes invoices (and their
contacts) for them, and binds some. Everything it plans is returned as ground truth.

The mix, for ``n`` orders (fractions; at least a few of each on the default portal):

* **smart invoices** (type 31) for ≈ 3 % of the orders (at most 1,500), **legacy invoices**
  (type 5) for ≈ 1.5 % (at most 750): issued 1 hour to 5 days before the order, to a contact
  carrying the customer's name, e-mail and phone; the amount equal (≈ 75 %) or off by a
  discount; ≈ 40 % of these orders are already bound to their invoice, the rest unbound (for
  the matcher to find).
* **a consolidated legacy invoice**: one customer's three or more orders, all bound to it;
  its amount is the sum of theirs.
* **deleted owners**: 3 smart and 2 legacy invoices whose orders stay bound after the
  invoice was deleted (IDs in the middle of the range, so no new invoice reuses them).
* **currency mismatch**: 2 bound smart invoices in another currency than their order.
* **amount mismatch**: 2 bound smart invoices at 80 % of their order's amount.
* **customer mismatch**: 2 bound smart invoices made out to another person.

Pure stdlib, seeded; :func:`plan` reads the demo's tables, :meth:`InvoicePlan.install`
writes into the store.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import demo_vocab as vocab
from .fields import CONTACT
from .invoice_fields import INVOICE, SMART_INVOICE
from .invoices import add_invoices

__all__ = ["InvoicePlan", "plan"]

SMART, LEGACY = 31, 5
_HOUR = 3600


@dataclass
class InvoicePlan:
    """Invoices to write, with the truth about them.

    ``invoices[type]`` are records in API names (``_order`` lists the orders each one owns,
    ``_contact`` indexes ``contacts``, ``_bound`` says whether the orders are bound,
    ``_deleted`` marks invoices deleted after binding).
    """

    invoices: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: {SMART: [],
                                                                               LEGACY: []})
    contacts: list[dict[str, Any]] = field(default_factory=list)
    seeded: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def install(self, store: Any, now: float) -> tuple[dict[int, tuple[int, int]],
                                                       dict[int, tuple[int, int]]]:
        """Write contacts, invoices and bindings; return ``(owners, dangling)``.

        ``owners`` maps each order whose true owner is an invoice to ``(type, id)``;
        ``dangling`` maps orders bound to a deleted invoice to that ``(type, id)``.
        """
        contact_ids = store.add_people(CONTACT, [
            {k: v for k, v in c.items() if not k.startswith("_")} for c in self.contacts])
        owners: dict[int, tuple[int, int]] = {}
        dangling: dict[int, tuple[int, int]] = {}
        bindings: list[dict[str, int]] = []
        for kind, ent in ((SMART, SMART_INVOICE), (LEGACY, INVOICE)):
            recs = self.invoices[kind]
            contact_key = "contactId" if kind == SMART else "UF_CONTACT_ID"
            for rec in recs:
                rec[contact_key] = contact_ids[rec["_contact"]]
            kept = [r for r in recs if not r["_deleted"]]
            add_invoices(store, ent, [{k: v for k, v in r.items() if not k.startswith("_")}
                                      for r in kept], now)
            pk = ent.pk
            for rec in recs:
                for oid in rec["_orders"]:
                    if rec["_bound"]:
                        bindings.append({"orderId": oid, "ownerId": rec[pk], "ownerTypeId": kind})
                    (dangling if rec["_deleted"] else owners)[oid] = (kind, rec[pk])
        store.add_bindings(bindings)
        return owners, dangling


def _candidates(tables: dict[str, Any], truth: dict[int, int]) -> list[int]:
    """Orders with no real deal and no binding: the ones an invoice may own."""
    bound = set(tables["bindings"]["orderId"])
    canceled = tables["orders"]["canceled"]
    ids = tables["orders"]["id"]
    return [oid for oid, c in zip(ids, canceled, strict=True)
            if oid not in truth and oid not in bound and c != "Y"]


#: invoices planted with one fault each, and how many of each (see the module docstring)
_SPECIAL = {"dangling_smart": 3, "dangling_legacy": 2, "currency": 2, "amount": 2, "customer": 2}
#: a unit of each currency in roubles' terms, for the currency-mismatch invoices
_RATE = {"RUB": 1.0, "USD": 0.011, "EUR": 0.010, "KZT": 5.0}


def plan(demo: Any, seed: int) -> InvoicePlan:
    """Plan the invoices of a demo portal (see the module docstring); reads, writes nothing."""
    tables, truth = demo.tables, demo.truth
    out = InvoicePlan()
    orders = tables["orders"]
    if not orders["id"]:
        return out
    r = random.Random(seed * 7919 + 31)
    cands = _candidates(tables, truth)
    r.shuffle(cands)
    n = len(orders["id"])
    # capped: a 200,000-order portal gets 1,500 + 750 (what matching needs to be measured)
    # rather than 9,000 invoices written row by row into the sandbox's start-up
    n_smart, n_legacy = (min(cap, max(low, round(f * n)))
                         for cap, low, f in ((1_500, 8, 0.03), (750, 4, 0.015)))
    if len(cands) < n_smart + n_legacy + sum(_SPECIAL.values()) + 3:
        return out  # a tiny portal: no invoices rather than a mix without every kind
    planner = _Planner(tables, r, out)
    take = iter(cands)  # each step takes the next candidates, in the shuffled order
    planner.stories(take, n_smart, n_legacy)
    planner.dangling(take)
    planner.mismatches(take)
    planner.consolidated(take)
    _number(out, r)
    return out


class _Planner:
    """One :func:`plan` run: the demo's orders, the seeded RNG, and the plan being written.

    The steps must run in :func:`plan`'s order, each taking the next candidate orders and
    drawing from the same RNG: that fixed sequence is what makes a seed's invoices the same.
    """

    def __init__(self, tables: dict[str, Any], r: random.Random, out: InvoicePlan) -> None:
        self.orders = tables["orders"]
        self.props = tables["order_props"]["value"]  # NAME, EMAIL, PHONE per order
        self.pos = {oid: i for i, oid in enumerate(self.orders["id"])}
        self.r = r
        self.out = out
        self.people: dict[str, int] = {}  # customer key -> index in out.contacts

    # -- the steps --------------------------------------------------------------------------
    def stories(self, take: Iterator[int], n_smart: int, n_legacy: int) -> None:
        """One invoice per order; the first 40 % of each kind bound, the rest for matching."""
        for kind, count in ((SMART, n_smart), (LEGACY, n_legacy)):
            for k in range(count):
                o = self.order(next(take))
                bound = k < round(0.4 * count)
                self.invoice(kind, [o], bound=bound,
                             price=o["price"] if bound else self.story_price(o))

    def dangling(self, take: Iterator[int]) -> None:
        """Orders left bound to an invoice that was deleted afterwards."""
        for kind, count in ((SMART, _SPECIAL["dangling_smart"]),
                            (LEGACY, _SPECIAL["dangling_legacy"])):
            for _ in range(count):
                rec = self.invoice(kind, [self.order(next(take))], bound=True, deleted=True)
                self.out.seeded["dangling"].add(rec["_orders"][0])

    def mismatches(self, take: Iterator[int]) -> None:
        """Bound smart invoices in another currency, at 80 %, or made out to a stranger."""
        seeded = self.out.seeded
        for _ in range(_SPECIAL["currency"]):
            o = self.order(next(take))
            other = "RUB" if o["currency"] != "RUB" else "USD"
            self.invoice(SMART, [o], bound=True, currency=other,
                         price=round(o["price"] / _RATE[o["currency"]] * _RATE[other], 2))
            seeded["currency"].add(o["id"])
        for _ in range(_SPECIAL["amount"]):
            o = self.order(next(take))
            self.invoice(SMART, [o], bound=True, price=round(o["price"] * 0.8, 2))
            seeded["amount"].add(o["id"])
        for _ in range(_SPECIAL["customer"]):
            o = self.order(next(take))
            self.invoice(SMART, [o], bound=True, who=self.stranger())
            seeded["customer"].add(o["id"])

    def consolidated(self, take: Iterator[int]) -> None:
        """One legacy invoice for the remaining candidate customer with the most orders."""
        by_customer: dict[str, list[int]] = defaultdict(list)
        for oid in take:
            email = self.props[3 * self.pos[oid] + 1]
            if email:
                by_customer[email.lower()].append(oid)
        group = max(by_customer.values(), key=len, default=[])
        if len(group) >= 3:
            os = [self.order(oid) for oid in sorted(group)[:4]]
            if len({o["currency"] for o in os}) == 1:
                self.invoice(LEGACY, os, bound=True)
                self.out.seeded["many"].update(o["id"] for o in os)

    # -- the pieces ---------------------------------------------------------------------------
    def order(self, oid: int) -> dict[str, Any]:
        """What an invoice needs of one order, read from the demo's columns."""
        orders, i = self.orders, self.pos[oid]
        name, email, phone = self.props[3 * i: 3 * i + 3]
        return {"id": oid, "price": orders["price"][i], "currency": orders["currency"][i],
                "t": orders["dateInsert"][i], "resp": orders["responsibleId"][i],
                "ptype": orders["personTypeId"][i], "name": name, "email": email,
                "phone": phone}

    def contact(self, o: dict[str, Any]) -> int:
        """The invoice contact of an order's customer: one per e-mail (else phone, name)."""
        key = (o["email"] or "").lower() or (o["phone"] or "") or (o["name"] or "")
        if key in self.people:
            return self.people[key]
        first, _, last = (o["name"] or "").partition(" ")
        rec: dict[str, Any] = {"NAME": first, "LAST_NAME": last, "ASSIGNED_BY_ID": o["resp"]}
        if o["email"]:
            rec["EMAIL"] = [{"VALUE": o["email"].lower(), "VALUE_TYPE": "WORK"}]
        if o["phone"]:
            rec["PHONE"] = [{"VALUE": o["phone"], "VALUE_TYPE": "MOBILE"}]
        self.out.contacts.append(rec)
        self.people[key] = len(self.out.contacts) - 1
        return self.people[key]

    def stranger(self) -> int:
        """A contact who is nobody's customer (an accountant's mailbox and office phone)."""
        r, contacts = self.r, self.out.contacts
        first, last = r.choice(vocab.RU_MALE), r.choice(vocab.RU_LAST)
        contacts.append({"NAME": first, "LAST_NAME": last, "EMAIL": [
            {"VALUE": f"buh{r.randrange(100, 999)}@{r.choice(vocab.MAIL_RU)}",
             "VALUE_TYPE": "WORK"}], "PHONE": [
            {"VALUE": f"+7 495 {r.randrange(100, 999)}-{r.randrange(10, 99)}-"
                      f"{r.randrange(10, 99)}", "VALUE_TYPE": "WORK"}]})
        return len(contacts) - 1

    def story_price(self, o: dict[str, Any]) -> float:
        """An unbound invoice's amount: the order's (75 %) or 3-10 % below it (a discount)."""
        if self.r.random() < 0.75:
            return o["price"]
        return round(o["price"] * self.r.choice((0.95, 0.9, 0.97)), 2)

    def invoice(self, kind: int, os: list[dict[str, Any]], *, bound: bool,
                who: int | None = None, price: float | None = None,
                currency: str | None = None, deleted: bool = False) -> dict[str, Any]:
        """Plan one invoice of ``kind`` owning orders ``os``, issued before the first of them."""
        r, first = self.r, os[0]
        t = min(o["t"] for o in os) - r.randrange(_HOUR, 5 * vocab.DAY)
        amount = price if price is not None else sum(o["price"] for o in os)
        cur = currency or first["currency"]
        meta = {"_orders": [o["id"] for o in os], "_contact": self.contact(first) if who is None
                else who, "_bound": bound, "_deleted": deleted, "_t": t}
        make = _smart_record if kind == SMART else _legacy_record
        rec = make(r, first, amount, cur, t, bound)
        rec.update(meta)
        self.out.invoices[kind].append(rec)
        return rec


def _smart_record(r: random.Random, first: dict[str, Any], amount: float, cur: str, t: int,
                  bound: bool) -> dict[str, Any]:
    """A smart invoice (type 31) in API names; a bound one is paid (stage P)."""
    return {"opportunity": amount, "currencyId": cur, "createdTime": t,
            "updatedTime": t + r.randrange(60, 3 * vocab.DAY), "begindate": t,
            "closedate": t + 10 * vocab.DAY, "assignedById": first["resp"],
            "stageId": "DT31_1:P" if bound else r.choice(("DT31_1:N", "DT31_1:S")),
            "isManualOpportunity": "Y"}


def _legacy_record(r: random.Random, first: dict[str, Any], amount: float, cur: str, t: int,
                   bound: bool) -> dict[str, Any]:
    """A legacy invoice (type 5) in API names; a bound one is paid."""
    return {"PRICE": amount, "CURRENCY": cur, "DATE_INSERT": t,
            "DATE_UPDATE": t + r.randrange(60, 3 * vocab.DAY), "DATE_BILL": t,
            "DATE_PAY_BEFORE": t + 10 * vocab.DAY, "RESPONSIBLE_ID": first["resp"],
            "STATUS_ID": "P" if bound else r.choice(("N", "S")),
            "PAYED": "Y" if bound else "N", "PERSON_TYPE_ID": first["ptype"],
            "PAY_SYSTEM_ID": 1}


def _number(out: InvoicePlan, r: random.Random) -> None:
    """IDs and numbers in creation order; deleted invoices get IDs below the newest one."""
    for kind, pk in ((SMART, "id"), (LEGACY, "ID")):
        recs = out.invoices[kind]
        recs.sort(key=lambda rec: rec["_t"])
        if recs and recs[-1]["_deleted"]:  # the newest must stay, or a new one reuses its ID
            live = next(i for i in range(len(recs) - 1, -1, -1) if not recs[i]["_deleted"])
            recs.append(recs.pop(live))
        for i, rec in enumerate(recs, start=1):
            rec[pk] = i
            if kind == SMART:
                rec["accountNumber"] = f"СЧ-{i:05d}"
                rec["title"] = f"Счёт №{rec['accountNumber']}"
            else:
                rec["ACCOUNT_NUMBER"] = f"{i}"
                rec["ORDER_TOPIC"] = r.choice(("Оплата заказа", "Счёт на оплату",
                                               "Счёт №" + str(i)))
