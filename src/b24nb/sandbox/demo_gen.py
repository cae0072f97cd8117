"""The record-making half of the demo generator: one seeded run and the records it grows.

Split from :mod:`.demo`, which decides the *mix* (how many true stories, near misses, lone
orders, and how they are bound): this module makes one customer, deal or order at a time,
with the spelling variations, amounts and dates a real portal shows (see :mod:`.demo`'s
docstring for the distributions). Every draw comes from one :class:`~.demo_vocab.FastRandom`
in a fixed sequence, so the same seed gives the same records: a change that adds, drops or
reorders a draw changes every demo portal and the matcher's benchmarks with it.
"""

from __future__ import annotations

from typing import Any

from . import demo_vocab as vocab
from .demo_mix import Mix

__all__ = ["D_AMOUNT", "D_CURRENCY", "D_PERSON", "D_T", "D_USER", "O_CLIENTS", "O_DEAL",
           "O_PERSON", "Gen"]


# Deals and orders are tuples (a dict apiece cost a tenth of the run at 200,000 of each), their
# fields by position. Records refer to each other by position in their list (creation order).
(D_T, D_AUTO, D_TITLE, D_AMOUNT, D_CURRENCY, D_COMPANY, D_USER, D_STAGE, D_NO_CONTACT,
 D_PERSON, D_ORDER, D_STYLE) = range(12)
(O_T, O_PRICE, O_CURRENCY, O_USER, O_RESPONSIBLE, O_STATUS, O_PAYED, O_CANCELED,
 O_PERSON_TYPE, O_PROPS, O_CLIENTS, O_DEAL, O_PERSON) = range(13)


class Gen:
    """One generation run; methods share the seeded RNG and the growing record lists."""

    def __init__(self, seed: int, knobs: Mix | None = None) -> None:
        self.r = vocab.FastRandom(seed)
        self.mix = knobs or Mix()
        self.people: list[dict[str, Any]] = []  # contacts: customers and auto duplicates
        self.customers: list[dict[str, Any]] = []
        self.companies: list[dict[str, Any]] = []
        self.deals: list[tuple] = []
        self.orders: list[tuple] = []
        self.deal_num: list[int | None] = []  # per deal: the order whose number its title has
        self.order_bind: list[int | None] = []  # per order: the deal it is bound to
        self.kept: list[object] = []  # finish()'s big intermediates, freed with this state

    # -- people -------------------------------------------------------------------------
    def new_customer(self, t: int) -> dict[str, Any]:
        # The hottest path at 200,000 records: random draws are inlined as
        # ``seq[int(rnd() * len(seq))]``, exactly what FastRandom.choice/randrange compute.
        rnd = self.r.random
        currency = (self.mix.currencies or vocab.CURRENCIES)[int(rnd() * 100)]
        kind = "en" if currency in ("USD", "EUR") and rnd() < 0.8 else (
            "kz" if currency == "KZT" else "ru")
        if kind == "ru":
            female = rnd() < 0.45
            names = vocab.RU_FEMALE if female else vocab.RU_MALE
            first = names[int(rnd() * len(names))]
            last = vocab.RU_LAST[int(rnd() * len(vocab.RU_LAST))] + ("а" if female else "")
        elif kind == "kz":
            first = vocab.KZ_FIRST[int(rnd() * len(vocab.KZ_FIRST))]
            last = vocab.KZ_LAST[int(rnd() * len(vocab.KZ_LAST))]
        else:
            first = vocab.EN_FIRST[int(rnd() * len(vocab.EN_FIRST))]
            last = vocab.EN_LAST[int(rnd() * len(vocab.EN_LAST))]
        company = None
        if rnd() < self.mix.company_share:
            company = self.new_company(kind)
        lf, ll = vocab.translit(first), vocab.translit(last)
        style = int(rnd() * 5)
        n100, year, n1000 = int(rnd() * 100), 1960 + int(rnd() * 45), int(rnd() * 1000)
        local = (f"{lf}.{ll}", f"{lf[0]}{ll}", f"{lf}_{ll}{n100}", f"{ll}{year}",
                 f"{lf}{ll}{n1000}")[style]
        if company is not None and rnd() < 0.5:
            domain = company["_domain"]
        else:
            mails = vocab.MAIL_EN if kind == "en" else vocab.MAIL_RU
            domain = mails[int(rnd() * len(mails))]
        if kind == "en" and currency == "USD":
            phone = "1" + str(201 + int(rnd() * 789)) + f"{int(rnd() * 10**7):07d}"
        elif kind == "en":
            phone = "49" + str(30 + int(rnd() * 60)) + f"{int(rnd() * 10**8):08d}"
        elif kind == "kz":
            phone = "77" + str((0, 1, 2, 5, 7)[int(rnd() * 5)]) + str(int(rnd() * 10)) + \
                f"{int(rnd() * 10**7):07d}"
        else:
            phone = "79" + f"{int(rnd() * 10**9):09d}"
        cust = {"first": first, "last": last, "kind": kind, "currency": currency,
                "email": f"{local}@{domain}", "phone": phone, "company": company, "t": t,
                "has_email": rnd() < self.mix.contact_email_share,
                "has_phone": rnd() < self.mix.contact_phone_share, "dup": False,
                "_i": len(self.people)}
        self.people.append(cust)
        self.customers.append(cust)
        return cust

    def new_company(self, kind: str) -> dict[str, Any]:
        r = self.r
        if kind == "en":
            name = r.choice(vocab.COMPANY_EN)
            title = f"{name} {r.choice(('GmbH', 'Ltd', 'Inc.', 'LLC'))}"
        else:
            name = r.choice(vocab.COMPANY_RU)
            suffix = "" if r.random() < 0.6 else f"-{r.randrange(2, 99)}"
            title = f"{r.choice(vocab.COMPANY_FORMS)} «{name}{suffix}»"
        comp = {"ID": len(self.companies) + 1, "TITLE": title,
                "_domain": f"{vocab.translit(name).replace('-', '')}{r.randrange(100)}.ru"
                if kind != "en" else f"{name.lower()}.com"}
        self.companies.append(comp)
        return comp

    def pick_customer(self, t: int, p_repeat: float) -> dict[str, Any]:
        if self.customers and self.r.random() < p_repeat:
            return self.r.choice(self.customers)
        return self.new_customer(t)

    def order_props(self, c: dict[str, Any]) -> tuple[str, str | None, str | None]:
        """What the customer typed at checkout: the same person, written differently."""
        r = self.r
        rnd = r.random
        x = rnd()
        if x < 0.5:
            name = f"{c['first']} {c['last']}"
        elif x < 0.75:
            name = f"{c['last']} {c['first']}"
        elif x < 0.87:
            name = c["first"]
        elif x < 0.95:
            name = f"{c['first']} {c['last']}".upper() if rnd() < 0.3 else \
                f"{vocab.translit(c['first']).title()} {vocab.translit(c['last']).title()}"
        else:
            name = f"{c['last']} {c['first'][0]}."
        y = rnd()
        email: str | None = c["email"]
        gone = self.mix.order_email_missing
        if y < gone:
            email = None
        elif y < gone + 0.06:
            email = f"{vocab.translit(c['first'])}{r.randrange(10, 99)}@{r.choice(vocab.MAIL_RU)}"
        elif y < gone + 0.17:
            email = email.title() if rnd() < 0.5 else email.upper()
        if self.mix.shared_mailbox and c["company"] is not None \
                and rnd() < self.mix.shared_mailbox:
            email = f"info@{c['company']['_domain']}"
        phone = None if rnd() < self.mix.order_phone_missing else vocab.fmt_phone(
            c["phone"], int(rnd() * 8))
        return name, email, phone  # the NAME, EMAIL and PHONE properties

    # -- deals and orders -----------------------------------------------------------------
    def amount(self, currency: str) -> float:
        r = self.r
        if r.random() < self.mix.catalogue_share:
            return r.choice(vocab.CATALOGUE[currency])
        scale = {"RUB": 1.0, "USD": 0.011, "EUR": 0.010, "KZT": 5.0}[currency]
        v = 10 ** r.uniform(3.3, 6.2) * scale
        if self.mix.odd_amounts and r.random() < self.mix.odd_amounts:
            return float(round(v * 1.37, 2))  # a price computed to the cent
        return float(round(v, -2 if v > 10_000 else (0 if v > 100 else 1)))

    def order_amount(self, amount: float, currency: str) -> float:
        r = self.r
        x = r.random()
        equal, discount, fee = self.mix.amount_cuts
        if x < equal:
            return amount
        if x < discount:  # a discount
            return round(amount * r.choice(self.mix.discounts), 2)
        if x < fee:  # delivery added
            return round(amount + r.choice(vocab.DELIVERY[currency]), 2)
        return round(amount + r.choice((-1.0, 1.0, -0.5, 0.01)), 2)  # rounding

    def real_deal(self, c: dict[str, Any], t: int, amount: float, currency: str,
                  stage: str, title: str | None = None) -> int:
        r = self.r
        if title is None and self.mix.titles != "products":
            title = "" if self.mix.titles == "none" else r.choice(vocab.GENERIC_TITLES).format(
                n=r.randrange(1, 9999))
        if title is None:
            product = r.choice(vocab.PRODUCTS_EN if c["kind"] == "en" else vocab.PRODUCTS_RU)
            comp = c["company"]
            x = r.random()
            if c["kind"] == "en":
                title = (f"{product} for {comp['TITLE']}" if comp
                         else f"{product} — {c['first']} {c['last']}" if x < 0.6
                         else f"Deal: {c['last']}")
            elif comp is not None and x < 0.7:
                title = f"{product} для {comp['TITLE']}"
            else:
                title = (f"{product}", f"{product} — {c['last']}",
                         f"Сделка с {c['last']} {c['first']}",
                         f"{product} ×{r.randrange(2, 20)}",
                         f"Договор №{r.randrange(1, 999)}/{r.randrange(24, 27)} ({product})")[
                    int(x * 5)]
        no_contact = r.random() < self.mix.deal_no_contact
        user, company = r.randrange(1, vocab.N_USERS + 1), c["company"] and c["company"]["ID"]
        self.deals.append((t, False, title, amount, currency, company, user, stage, no_contact,
                           c["_i"], None, None))
        self.deal_num.append(None)
        return len(self.deals) - 1

    def order(self, c: dict[str, Any], t: int, price: float, currency: str,
              responsible: int, deal: int | None = None) -> int:
        rnd = self.r.random
        canceled = rnd() < 0.04
        payed = not canceled and rnd() < 0.7
        user = responsible if rnd() < 0.7 else 1 + int(rnd() * vocab.N_USERS)
        status = "F" if payed and rnd() < 0.6 else ("P" if payed else "N")
        props = self.order_props(c)
        clients: list[tuple[int, int]] = []  # (entityTypeId, person position or company ID)
        if c["company"] is not None and rnd() < 0.7:
            clients.append((4, c["company"]["ID"]))
        self.orders.append((t, price, currency, user, responsible, status,
                            "Y" if payed else "N", "Y" if canceled else "N",
                            2 if c["company"] is not None else 1, props, clients, deal, c["_i"]))
        self.order_bind.append(None)
        return len(self.orders) - 1

    def auto_deal(self, oi: int) -> None:
        """What ``sale.order.add`` does on its own: a duplicate contact and deal, bound."""
        r = self.r
        o = self.orders[oi]
        name, email, phone = o[O_PROPS]
        parts = (name or "").split(" ", 1)
        dup = {"t": o[O_T] + r.randrange(20, 60), "first": parts[0],
               "last": parts[1] if len(parts) > 1 else "",
               "email": (email or "").lower() or None, "phone": phone or None,
               "company": None, "has_email": None, "has_phone": None, "dup": True,
               "_i": len(self.people)}
        self.people.append(dup)
        t = o[O_T] + r.randrange(60, 601)
        style = r.randrange(4)
        self.deals.append((t, True, None, o[O_PRICE], o[O_CURRENCY], None, o[O_RESPONSIBLE],
                           r.choice(("NEW", "NEW", "WON")), False, dup["_i"], oi, style))
        self.deal_num.append(None)
        o[O_CLIENTS].insert(0, (3, dup["_i"]))
        self.order_bind[oi] = len(self.deals) - 1
