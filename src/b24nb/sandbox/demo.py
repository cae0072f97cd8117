"""Deterministic demo data for the sandbox portal: deals, contacts, companies, orders, bindings.

Why this exists: no real portal is reachable, yet the reconciliation notebook must run out of
the box and the matcher must be scored against a known truth. The data reproduces what live
portals look like (research ``bitrix24-api.md`` §10): every ``sale.order.add`` auto-creates a
duplicate deal and contact, so many orders sit bound to a deal titled after the order while the
deal the sales team worked on stays unbound.

Records use the API's own field names with Python values (the server renders them: strings in
``crm.deal.list``, typed camelCase in ``sale.*``). Deals are UPPER_CASE like ``crm.deal``,
orders camelCase like ``sale.order`` plus ``clients`` (as in ``sale.order.get``) and
``properties`` (``NAME``, ``EMAIL``, ``PHONE``: what ``sale.propertyvalue.list`` returns).
Datetimes are ISO 8601 with a ``+03:00`` offset. IDs grow with creation time, as on a portal.

The mix (fractions of the defaults, 2,000 deals and 2,400 orders; they scale linearly):

* **auto-created deals** ≈ 32 % of the order count (768), capped at half of ``n_deals``.
  Each is titled after its order (``"Заказ №<accountNumber>"``, ``"Заказ №… от dd.mm.yyyy"``,
  ``"Order #…"``, ``"Заказ …"``), created 1–10 minutes after it, with the order's amount,
  currency and responsible user, and owns a *duplicate contact* carrying the order's name,
  e-mail and phone. The order is bound to it and lists the duplicate contact in ``clients``.
  They count in ``n_deals``.
* **real deals** are the rest (1,232). About 78 % of them (961) have a true order; about 4 %
  of those (38) have a second one (a split delivery), so ≈ 1,000 orders are in ``truth``.
  Of these true orders ≈ 45 % are bound to an auto-created duplicate (the real deal unbound:
  the main rebind case), ≈ 12 % are already correctly bound, the rest are unbound.
* **true matches** share the customer (the deal's contact vs the order's properties, with the
  name re-ordered or transliterated, e-mail case changed, phones written in varied formats,
  fields sometimes missing or different), the currency, an amount equal (≈ 70 %) or off by a
  discount, a delivery fee or rounding, and an order date 0–14 days after the deal (a few up
  to a day before). ≈ 12 % of real deals carry the order number in their title.
* **repeat customers**: ≈ 25 % of stories reuse an earlier customer, so a contact owns several
  deals and orders, often at the same catalogue price.
* **ambiguous amounts**: ≈ 40 % of amounts come from a short catalogue price list, so many
  deals and orders share an amount within days of each other.
* **near misses** (the real deals without an order, 271): a lost or earlier deal of the same
  customer at a similar amount weeks apart, a different customer's deal at the same amount
  within days, or an unrelated open deal.
* **orders with no real deal** (≈ 1,400): ≈ 320 of them bound to their auto-created duplicate
  only, the rest unbound; ≈ 30 % belong to customers who also have deals (same e-mail/phone,
  different amount and time) — a trap for matching on the customer alone.

``truth`` maps every order that has a real deal to it (correctly bound ones included); it is
never served over the API. Generation is pure stdlib, seeded by ``random.Random(seed)``: 200,000
deals and 200,000 orders take about 5 s on a 2-core machine (≈ 0.7 GB), their API-form
records 2 s more when first read (:class:`DemoData` keeps the store's tables); the default
portal takes about 0.1 s.
"""

from __future__ import annotations

from typing import Any

from . import demo_vocab as vocab
from .demo_mix import PRESETS, Mix, mix
from .demo_records import DemoData, finish, without_gc

__all__ = ["PRESETS", "DemoData", "Mix", "generate", "make_demo", "mix"]


# Deals and orders are tuples (a dict apiece cost a tenth of the run at 200,000 of each), their
# fields by position. Records refer to each other by position in their list (creation order).
(D_T, D_AUTO, D_TITLE, D_AMOUNT, D_CURRENCY, D_COMPANY, D_USER, D_STAGE, D_NO_CONTACT,
 D_PERSON, D_ORDER, D_STYLE) = range(12)
(O_T, O_PRICE, O_CURRENCY, O_USER, O_RESPONSIBLE, O_STATUS, O_PAYED, O_CANCELED,
 O_PERSON_TYPE, O_PROPS, O_CLIENTS, O_DEAL, O_PERSON) = range(13)


class _Gen:
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


def _fold(t: int, span: int) -> int:
    """Reflect a time that fell outside the period back into it (clamping would pile up)."""
    if t < 0:
        return -t
    return 2 * span - t if t > span else t


def _counts(n_deals: int, n_orders: int) -> tuple[int, int, int, int, int]:
    n_auto = min(round(0.32 * n_orders), n_deals // 2)
    n_real = n_deals - n_auto
    m = min(round(0.78 * n_real), n_orders)
    doubles = min(round(0.04 * m), n_orders - m)
    matched = m + doubles
    a1 = min(n_auto, round(0.45 * matched))
    a2 = min(n_auto - a1, n_orders - matched)
    # n_deals must hold exactly: an unusable auto budget becomes more real deals without order
    return a1 + a2, m, doubles, a1, a2


def make_demo(seed: int = 0, n_deals: int = 2000, n_orders: int = 2400,
              knobs: Mix | str | None = None) -> DemoData:
    """Make the sandbox's demo portal, deterministically from ``seed``.

    Parameters
    ----------
    seed : int
        Seed of :class:`random.Random`; the same seed gives identical records.
    n_deals : int
        All deals, the auto-created duplicates included.
    n_orders : int
        All orders.
    knobs : Mix or str, optional
        The distributions (:class:`Mix`, or a :data:`PRESETS` name: ``"shop"``, ``"b2b"``);
        by default the demo portal's own.

    Returns
    -------
    DemoData
        See the module docstring for the mix.

    Examples
    --------
    >>> demo = make_demo(seed=1, n_deals=200, n_orders=240)
    >>> len(demo.deals), len(demo.orders)
    (200, 240)
    """
    return generate(seed, n_deals, n_orders, knobs)[0]


def generate(seed: int = 0, n_deals: int = 2000, n_orders: int = 2400,
             knobs: Mix | str | None = None) -> tuple[DemoData, object]:
    """:func:`make_demo`, and the generator's working records, for the caller to drop.

    Freeing the working records of a 200,000-deal portal takes about half a second: the
    sandbox drops them while SQLite builds its indexes in another thread.
    """
    if n_deals < 0 or n_orders < 0:
        raise ValueError("n_deals and n_orders must be >= 0")
    # Hundreds of thousands of small records make the cyclic GC rescan everything again and
    # again (≈ 40 % of the run); nothing here forms cycles worth collecting mid-way.
    return without_gc(_make)(seed, n_deals, n_orders, mix(knobs) if knobs is not None else None)


def _make(seed: int, n_deals: int, n_orders: int, knobs: Mix | None = None
          ) -> tuple[DemoData, _Gen]:
    g = _Gen(seed, knobs)
    r = g.r
    n_auto, m, doubles, a1, a2 = _counts(n_deals, n_orders)
    span = vocab.SPAN_DAYS * vocab.DAY
    matched_orders: list[int] = []
    stories: list[tuple[int, int]] = []  # (deal, order) positions

    # 1. real deals with their true order(s)
    for i in range(m):
        t = r.randrange(0, span - 20 * vocab.DAY)
        c = g.pick_customer(t, g.mix.repeat)
        currency = c["currency"]
        amount = g.amount(currency)
        stage = r.choice(("WON", "WON", "WON", "EXECUTING", "FINAL_INVOICE"))
        d = g.real_deal(c, t, amount, currency, stage)
        n_here = 2 if i < doubles else 1
        for k in range(n_here):
            if g.mix.lag is None:
                lag = int(r.choice((0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 5, 7, 10, 14)) * vocab.DAY
                          + r.randrange(600, vocab.DAY))
                if r.random() < 0.05:
                    lag = -r.randrange(600, vocab.DAY)
            else:  # (share with the deal after the order, days before, days after)
                after, before_d, after_d = g.mix.lag
                lag = (-r.randrange(600, int(before_d * vocab.DAY)) if r.random() < after
                       else r.randrange(600, int(after_d * vocab.DAY)))
            price = amount if n_here == 1 else round(amount / 2, 2)
            if n_here == 1:
                price = g.order_amount(amount, currency)
            t_order = _fold(t + lag + k * 3 * vocab.DAY, span)
            o = g.order(c, t_order, price, currency, g.deals[d][D_USER], deal=d)
            matched_orders.append(o)
            stories.append((d, o))

    # bindings of true orders: auto duplicate (real deal unbound), correct, or none
    order_idx = list(range(len(matched_orders)))
    r.shuffle(order_idx)
    n_correct = round(0.12 * len(matched_orders))
    for j, idx in enumerate(order_idx):
        o = matched_orders[idx]
        if j < a1:
            g.auto_deal(o)
        elif j < a1 + n_correct:
            g.order_bind[o] = g.orders[o][O_DEAL]
            g.orders[o][O_CLIENTS].insert(0, (3, g.orders[o][O_PERSON]))
        elif r.random() < g.mix.order_client_share:
            g.orders[o][O_CLIENTS].insert(0, (3, g.orders[o][O_PERSON]))
    # a manager sometimes writes the order number into the real deal's title
    for d, o in stories:
        if r.random() < g.mix.title_number_share and g.deal_num[d] is None:
            g.deal_num[d] = o

    # 2. near misses: real deals without an order
    n_near = n_deals - n_auto - m
    for _ in range(n_near):
        x = r.random()
        if stories and x < 0.35:  # same customer, similar amount, weeks apart
            d0 = g.deals[r.choice(stories)[0]]
            c = g.people[d0[D_PERSON]]
            t = _fold(d0[D_T] + r.choice((-1, 1)) * r.randrange(20, 90) * vocab.DAY, span)
            amt = d0[D_AMOUNT] if r.random() < 0.5 else g.amount(d0[D_CURRENCY])
            g.real_deal(c, t, amt, d0[D_CURRENCY], r.choice(("LOSE", "WON", "NEW")))
        elif stories and x < 0.7:  # another customer, same amount within days
            d0 = g.deals[r.choice(stories)[0]]
            c = g.new_customer(d0[D_T])
            t = _fold(d0[D_T] + r.randrange(-5 * vocab.DAY, 5 * vocab.DAY), span)
            g.real_deal(c, t, d0[D_AMOUNT], d0[D_CURRENCY], r.choice(vocab.STAGES_OPEN))
        else:
            t = r.randrange(0, span)
            c = g.pick_customer(t, g.mix.repeat * 0.4)
            g.real_deal(c, t, g.amount(c["currency"]), c["currency"],
                        r.choice((*vocab.STAGES_OPEN, "LOSE")))

    # 3. orders with no real deal: auto-bound duplicates first, then unbound ones
    for k in range(n_orders - len(matched_orders)):
        t = r.randrange(0, span)
        c = g.pick_customer(t, g.mix.repeat * 1.2)
        o = g.order(c, t, g.amount(c["currency"]), c["currency"], r.randrange(1, vocab.N_USERS + 1))
        if k < a2:
            g.auto_deal(o)
        elif r.random() < g.mix.other_client_share:
            g.orders[o][O_CLIENTS].insert(0, (3, c["_i"]))

    return finish(g, r), g
