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
never served over the API. Generation is pure stdlib, seeded by ``random.Random(seed)``, and
makes 200,000 deals and 200,000 orders in a few seconds.
"""

from __future__ import annotations

import datetime as _dt
import gc
import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DemoData", "make_demo"]

def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_TZ = "+03:00"
_START = _dt.date(2025, 5, 1)
_SPAN_DAYS = 548  # about 18 months, ending 2026-10-31
_DAY = 86_400
_N_USERS = 12  # employees: ASSIGNED_BY_ID, userId, responsibleId

_RU_MALE = _words("Иван Алексей Дмитрий Сергей Андрей Михаил Николай Павел Артём Максим Егор Олег "
                  "Владимир Константин Роман Игорь Юрий Денис Евгений Тимур")
_RU_FEMALE = _words("Анна Мария Елена Ольга Наталья Татьяна Ирина Светлана Екатерина Юлия Дарья "
                    "Ксения Алина Полина Виктория Марина")
_RU_LAST = _words("Иванов Петров Смирнов Кузнецов Попов Васильев Соколов Михайлов Новиков Фёдоров "
                  "Морозов Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев "
                  "Орлов Андреев Макаров Никитин Захаров Зайцев Соловьёв Борисов Яковлев Григорьев "
                  "Романов Воробьёв Сергеев Фролов Белов Медведев Тарасов Беляев Комаров Киселев")
_EN_FIRST = _words("John Emily Michael Sarah David Laura James Anna Thomas Julia Peter Maria Lukas "
                   "Sophie Daniel Emma Oliver Hannah Jonas Lena")
_EN_LAST = _words("Smith Johnson Brown Miller Wilson Taylor Anderson Thompson Müller Schmidt "
                  "Schneider Fischer Weber Wagner Becker Hoffmann Dubois Martin Rossi Nowak")
_KZ_FIRST = _words("Айдар Нурлан Ержан Асель Динара Алия Бауыржан Гульнара Серик Жанна")
_KZ_LAST = _words("Нурланов Сейтказиев Ахметов Абенов Жумабаев Исмаилов Касымов Токаев")

_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
    strict=True,
))

_COMPANY_RU = _words("Ромашка Вектор Альфа Техносервис Северсталь-Трейд Горизонт Меридиан "
                     "Стройинвест Эталон Прогресс Сфера Импульс Гранит Каскад Восход Лидер "
                     "Оптима Интеграл")
_COMPANY_FORMS = ("ООО", "АО", "ИП", "ЗАО")
_COMPANY_EN = _words("Acme Globex Initech Umbrella Northwind Contoso Fabrikam Stark Wayne "
                     "Tyrell Hooli Vandelay")
_PRODUCTS_RU = ("Кофемашина DeLonghi", "Ноутбук Lenovo ThinkPad", "Офисные кресла",
                "Сервер Dell R740", "Лицензии 1С", "Кондиционер Daikin", "Принтер HP LaserJet",
                "Мебель для офиса", "Монитор Samsung 27\"", "Смартфоны Samsung",
                "Обучение персонала", "Внедрение CRM", "Техобслуживание", "Видеонаблюдение",
                "Стеллажи складские", "Кассовое оборудование", "Сетевое оборудование Cisco",
                "Упаковка и тара", "Спецодежда", "Бытовая химия оптом")
_PRODUCTS_EN = ("Coffee machines", "Laptops", "Office chairs", "Server rack", "Software licences",
                "Air conditioning", "Printers", "Office furniture", "Monitors", "Training",
                "CRM rollout", "Maintenance contract")
# Catalogue prices make amounts collide on purpose: the matcher must not trust amount alone.
_CATALOGUE = {
    "RUB": (4990.0, 9990.0, 14990.0, 19990.0, 24990.0, 29990.0, 49990.0, 79990.0, 99990.0,
            149990.0, 1990.0, 2990.0),
    "USD": (99.0, 199.0, 299.0, 499.0, 999.0, 1499.0),
    "EUR": (89.0, 179.0, 249.0, 449.0, 899.0, 1290.0),
    "KZT": (29990.0, 49990.0, 99990.0, 149990.0, 249990.0),
}
_CURRENCIES = ("RUB",) * 80 + ("USD",) * 7 + ("EUR",) * 7 + ("KZT",) * 6
_MAIL_RU = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru", "ya.ru")
_MAIL_EN = ("gmail.com", "outlook.com", "yahoo.com", "gmx.de", "web.de", "icloud.com")
_STAGES_OPEN = ("NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE")
_DELIVERY = {"RUB": (300.0, 350.0, 500.0, 990.0), "USD": (15.0, 25.0), "EUR": (9.9, 19.0),
             "KZT": (1500.0, 2500.0)}


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


_TRANSLIT_CACHE: dict[str, str] = {}


def _translit(text: str) -> str:
    """Cyrillic → Latin, as people spell their names in e-mail addresses (memoised: few names)."""
    out = _TRANSLIT_CACHE.get(text)
    if out is None:
        out = _TRANSLIT_CACHE[text] = "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())
    return out


class _FastRandom(random.Random):
    """``random.Random`` with cheap ``randrange``/``choice`` built on ``random()``.

    The stdlib versions draw exact uniform integers bit by bit (≈ 1 µs each); demo data needs
    neither exactness nor cryptographic care, and 200,000 deals must generate in seconds.
    Still fully determined by the seed.
    """

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:  # type: ignore[override]
        if stop is None:
            return int(self.random() * start)
        return start + int(self.random() * (stop - start))

    def choice(self, seq: Any) -> Any:  # type: ignore[override]
        return seq[int(self.random() * len(seq))]


_DAY_STR = [(_START + _dt.timedelta(days=d)).isoformat() for d in range(_SPAN_DAYS + 30)]
_DAY_RU = [f"{s[8:10]}.{s[5:7]}.{s[0:4]}" for s in _DAY_STR]


_DAY_T = [f"{d}T" for d in _DAY_STR]
_HHMM = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)]
_SS_TZ = [f"{s:02d}{_TZ}" for s in range(60)]


def _iso(t: int) -> str:
    """Seconds since the start of the demo period → ISO 8601 with offset.

    Table look-ups instead of strftime: this runs for every record (≈ 700,000 at scale).
    """
    d, s = divmod(t, _DAY)
    m, s = divmod(s, 60)
    return _DAY_T[d] + _HHMM[m] + _SS_TZ[s]


def _fmt_phone(digits: str, style: int) -> str:
    """Write a phone the way people type it; ``digits`` is the full international number."""
    if digits[0] != "7" or len(digits) != 11:  # foreign: fewer styles
        return "+" + digits if style % 2 else f"+{digits[:-10]} {digits[-10:-7]} {digits[-7:]}"
    n = digits[1:]
    a, b, c, d = n[:3], n[3:6], n[6:8], n[8:]
    return (
        f"+7 ({a}) {b}-{c}-{d}",
        "8" + n,
        "+7" + n,
        f"8 {a} {b} {c} {d}",
        f"8 ({a}) {b}-{c}-{d}",
        f"7-{a}-{b}-{c}{d}",
        f"+7 {a} {b}{c}{d}",
        f"{a} {b}-{c}-{d}",
    )[style % 8]


class _Gen:
    """One generation run; methods share the seeded RNG and the growing record lists."""

    def __init__(self, seed: int) -> None:
        self.r = _FastRandom(seed)
        self.customers: list[dict[str, Any]] = []
        self.companies: list[dict[str, Any]] = []
        self.deals: list[dict[str, Any]] = []  # internal: "_t" seconds, refs resolved later
        self.orders: list[dict[str, Any]] = []
        self.dup_contacts: list[dict[str, Any]] = []

    # -- people -------------------------------------------------------------------------
    def new_customer(self, t: int) -> dict[str, Any]:
        r = self.r
        currency = r.choice(_CURRENCIES)
        kind = "en" if currency in ("USD", "EUR") and r.random() < 0.8 else (
            "kz" if currency == "KZT" else "ru")
        if kind == "ru":
            female = r.random() < 0.45
            first = r.choice(_RU_FEMALE if female else _RU_MALE)
            last = r.choice(_RU_LAST) + ("а" if female else "")
        elif kind == "kz":
            first, last = r.choice(_KZ_FIRST), r.choice(_KZ_LAST)
        else:
            first, last = r.choice(_EN_FIRST), r.choice(_EN_LAST)
        company = None
        if r.random() < 0.2:
            company = self.new_company(kind)
        lf, ll = _translit(first), _translit(last)
        style = r.randrange(5)
        local = (f"{lf}.{ll}", f"{lf[0]}{ll}", f"{lf}_{ll}{r.randrange(100)}",
                 f"{ll}{r.randrange(1960, 2005)}", f"{lf}{ll}{r.randrange(1000)}")[style]
        if company is not None and r.random() < 0.5:
            domain = company["_domain"]
        else:
            domain = r.choice(_MAIL_EN if kind == "en" else _MAIL_RU)
        if kind == "en" and currency == "USD":
            phone = "1" + str(r.randrange(201, 990)) + f"{r.randrange(10**7):07d}"
        elif kind == "en":
            phone = "49" + str(r.randrange(30, 90)) + f"{r.randrange(10**8):08d}"
        elif kind == "kz":
            phone = "77" + str(r.choice((0, 1, 2, 5, 7))) + str(r.randrange(10)) + \
                f"{r.randrange(10**7):07d}"
        else:
            phone = "79" + f"{r.randrange(10**9):09d}"
        cust = {"first": first, "last": last, "kind": kind, "currency": currency,
                "email": f"{local}@{domain}", "phone": phone, "company": company, "t": t,
                "has_email": r.random() < 0.9, "has_phone": r.random() < 0.9,
                "contact": None}
        self.customers.append(cust)
        return cust

    def new_company(self, kind: str) -> dict[str, Any]:
        r = self.r
        if kind == "en":
            name = r.choice(_COMPANY_EN)
            title = f"{name} {r.choice(('GmbH', 'Ltd', 'Inc.', 'LLC'))}"
        else:
            name = r.choice(_COMPANY_RU)
            suffix = "" if r.random() < 0.6 else f"-{r.randrange(2, 99)}"
            title = f"{r.choice(_COMPANY_FORMS)} «{name}{suffix}»"
        comp = {"ID": len(self.companies) + 1, "TITLE": title,
                "_domain": f"{_translit(name).replace('-', '')}{r.randrange(100)}.ru"
                if kind != "en" else f"{name.lower()}.com"}
        self.companies.append(comp)
        return comp

    def pick_customer(self, t: int, p_repeat: float) -> dict[str, Any]:
        if self.customers and self.r.random() < p_repeat:
            return self.r.choice(self.customers)
        return self.new_customer(t)

    def order_props(self, c: dict[str, Any]) -> dict[str, str | None]:
        """What the customer typed at checkout: the same person, written differently."""
        r = self.r
        x = r.random()
        if x < 0.5:
            name = f"{c['first']} {c['last']}"
        elif x < 0.75:
            name = f"{c['last']} {c['first']}"
        elif x < 0.87:
            name = c["first"]
        elif x < 0.95:
            name = f"{c['first']} {c['last']}".upper() if r.random() < 0.3 else \
                f"{_translit(c['first']).title()} {_translit(c['last']).title()}"
        else:
            name = f"{c['last']} {c['first'][0]}."
        y = r.random()
        email: str | None = c["email"]
        if y < 0.08:
            email = None
        elif y < 0.14:
            email = f"{_translit(c['first'])}{r.randrange(10, 99)}@{r.choice(_MAIL_RU)}"
        elif y < 0.25:
            email = email.title() if r.random() < 0.5 else email.upper()
        phone = None if r.random() < 0.13 else _fmt_phone(c["phone"], r.randrange(8))
        return {"NAME": name, "EMAIL": email, "PHONE": phone}

    # -- deals and orders -----------------------------------------------------------------
    def amount(self, currency: str) -> float:
        r = self.r
        if r.random() < 0.4:
            return r.choice(_CATALOGUE[currency])
        scale = {"RUB": 1.0, "USD": 0.011, "EUR": 0.010, "KZT": 5.0}[currency]
        v = 10 ** r.uniform(3.3, 6.2) * scale
        return float(round(v, -2 if v > 10_000 else (0 if v > 100 else 1)))

    def order_amount(self, amount: float, currency: str) -> float:
        r = self.r
        x = r.random()
        if x < 0.70:
            return amount
        if x < 0.82:  # a discount
            return round(amount * r.choice((0.95, 0.9, 0.97)), 2)
        if x < 0.92:  # delivery added
            return round(amount + r.choice(_DELIVERY[currency]), 2)
        return round(amount + r.choice((-1.0, 1.0, -0.5, 0.01)), 2)  # rounding

    def real_deal(self, c: dict[str, Any], t: int, amount: float, currency: str,
                  stage: str, title: str | None = None) -> dict[str, Any]:
        r = self.r
        if title is None:
            product = r.choice(_PRODUCTS_EN if c["kind"] == "en" else _PRODUCTS_RU)
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
        d = {"_t": t, "TITLE": title, "OPPORTUNITY": amount, "CURRENCY_ID": currency,
             "_cust": c, "COMPANY_ID": c["company"]["ID"] if c["company"] else None,
             "_no_contact": r.random() < 0.04, "ASSIGNED_BY_ID": r.randrange(1, _N_USERS + 1),
             "STAGE_ID": stage, "_auto": False}
        self.deals.append(d)
        return d

    def order(self, c: dict[str, Any], t: int, price: float, currency: str,
              responsible: int) -> dict[str, Any]:
        r = self.r
        canceled = r.random() < 0.04
        payed = not canceled and r.random() < 0.7
        o = {"_t": t, "price": price, "currency": currency, "_cust": c,
             "userId": responsible if r.random() < 0.7 else r.randrange(1, _N_USERS + 1),
             "responsibleId": responsible, "statusId": "F" if payed and r.random() < 0.6 else
             ("P" if payed else "N"), "payed": "Y" if payed else "N",
             "canceled": "Y" if canceled else "N",
             "personTypeId": 2 if c["company"] is not None else 1,
             "properties": self.order_props(c), "_clients": [], "_bind": None, "_deal": None}
        if c["company"] is not None and r.random() < 0.7:
            o["_clients"].append((4, c["company"]))
        self.orders.append(o)
        return o

    def auto_deal(self, o: dict[str, Any]) -> None:
        """What ``sale.order.add`` does on its own: a duplicate contact and deal, bound."""
        r = self.r
        props = o["properties"]
        parts = (props["NAME"] or "").split(" ", 1)
        dup = {"_t": o["_t"] + r.randrange(20, 60), "NAME": parts[0],
               "LAST_NAME": parts[1] if len(parts) > 1 else "",
               "_email": (props["EMAIL"] or "").lower() or None, "_phone": props["PHONE"]}
        self.dup_contacts.append(dup)
        t = o["_t"] + r.randrange(60, 601)
        d = {"_t": t, "_title_style": r.randrange(4), "_order": o, "OPPORTUNITY": o["price"],
             "CURRENCY_ID": o["currency"], "_dup": dup, "COMPANY_ID": None,
             "ASSIGNED_BY_ID": o["responsibleId"], "STAGE_ID": r.choice(("NEW", "NEW", "WON")),
             "_auto": True}
        self.deals.append(d)
        o["_clients"].insert(0, (3, dup))
        o["_bind"] = d


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


def make_demo(seed: int = 0, n_deals: int = 2000, n_orders: int = 2400) -> DemoData:
    """Make the sandbox's demo portal, deterministically from ``seed``.

    Parameters
    ----------
    seed : int
        Seed of :class:`random.Random`; the same seed gives identical records.
    n_deals : int
        All deals, the auto-created duplicates included.
    n_orders : int
        All orders.

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
    if n_deals < 0 or n_orders < 0:
        raise ValueError("n_deals and n_orders must be >= 0")
    # Hundreds of thousands of small dicts make the cyclic GC rescan everything again and
    # again (≈ 40 % of the run); nothing here forms cycles worth collecting mid-way.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _make(seed, n_deals, n_orders)
    finally:
        if was_enabled:
            gc.enable()


def _make(seed: int, n_deals: int, n_orders: int) -> DemoData:
    g = _Gen(seed)
    r = g.r
    n_auto, m, doubles, a1, a2 = _counts(n_deals, n_orders)
    span = _SPAN_DAYS * _DAY
    matched_orders: list[dict[str, Any]] = []
    stories: list[tuple[dict[str, Any], dict[str, Any]]] = []

    # 1. real deals with their true order(s)
    for i in range(m):
        t = r.randrange(0, span - 20 * _DAY)
        c = g.pick_customer(t, 0.25)
        currency = c["currency"]
        amount = g.amount(currency)
        stage = r.choice(("WON", "WON", "WON", "EXECUTING", "FINAL_INVOICE"))
        d = g.real_deal(c, t, amount, currency, stage)
        n_here = 2 if i < doubles else 1
        for k in range(n_here):
            lag = int(r.choice((0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 5, 7, 10, 14)) * _DAY
                      + r.randrange(600, _DAY))
            if r.random() < 0.05:
                lag = -r.randrange(600, _DAY)
            price = amount if n_here == 1 else round(amount / 2, 2)
            if n_here == 1:
                price = g.order_amount(amount, currency)
            t_order = _fold(t + lag + k * 3 * _DAY, span)
            o = g.order(c, t_order, price, currency, d["ASSIGNED_BY_ID"])
            o["_deal"] = d
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
            o["_bind"] = o["_deal"]
            o["_clients"].insert(0, (3, o["_cust"]))
        elif r.random() < 0.5:
            o["_clients"].insert(0, (3, o["_cust"]))
    # a manager sometimes writes the order number into the real deal's title
    for d, o in stories:
        if r.random() < 0.12 and not d.get("_num"):
            d["_num"] = o

    # 2. near misses: real deals without an order
    n_near = n_deals - n_auto - m
    for _ in range(n_near):
        x = r.random()
        if stories and x < 0.35:  # same customer, similar amount, weeks apart
            d0, _o0 = r.choice(stories)
            c = d0["_cust"]
            t = _fold(d0["_t"] + r.choice((-1, 1)) * r.randrange(20, 90) * _DAY, span)
            amt = d0["OPPORTUNITY"] if r.random() < 0.5 else g.amount(d0["CURRENCY_ID"])
            g.real_deal(c, t, amt, d0["CURRENCY_ID"], r.choice(("LOSE", "WON", "NEW")))
        elif stories and x < 0.7:  # another customer, same amount within days
            d0, _o0 = r.choice(stories)
            c = g.new_customer(d0["_t"])
            t = _fold(d0["_t"] + r.randrange(-5 * _DAY, 5 * _DAY), span)
            g.real_deal(c, t, d0["OPPORTUNITY"], d0["CURRENCY_ID"], r.choice(_STAGES_OPEN))
        else:
            t = r.randrange(0, span)
            c = g.pick_customer(t, 0.1)
            g.real_deal(c, t, g.amount(c["currency"]), c["currency"],
                        r.choice((*_STAGES_OPEN, "LOSE")))

    # 3. orders with no real deal: auto-bound duplicates first, then unbound ones
    for k in range(n_orders - len(matched_orders)):
        t = r.randrange(0, span)
        c = g.pick_customer(t, 0.3)
        o = g.order(c, t, g.amount(c["currency"]), c["currency"], r.randrange(1, _N_USERS + 1))
        if k < a2:
            g.auto_deal(o)
        elif r.random() < 0.4:
            o["_clients"].insert(0, (3, c))

    return _finish(g, r)


def _contact_record(cid: int, c: dict[str, Any], r: _FastRandom) -> dict[str, Any]:
    emails = [{"VALUE": c["email"], "VALUE_TYPE": "WORK" if c["company"] else "HOME"}] \
        if c["has_email"] else []
    phones = [{"VALUE": _fmt_phone(c["phone"], r.randrange(8)), "VALUE_TYPE": "MOBILE"}] \
        if c["has_phone"] else []
    if r.random() < 0.08:  # a second, older number
        phones.append({"VALUE": "+7" + f"495{r.randrange(10**7):07d}", "VALUE_TYPE": "WORK"})
    return {"ID": cid, "NAME": c["first"], "LAST_NAME": c["last"], "SECOND_NAME": None,
            "EMAIL": emails, "PHONE": phones, "DATE_CREATE": _iso(c["t"]),
            "COMPANY_ID": c["company"]["ID"] if c["company"] else None, "ASSIGNED_BY_ID": 1}


def _finish(g: _Gen, r: _FastRandom) -> DemoData:
    """Assign IDs in creation order and render records in API field names."""
    # contacts: real customers (at their first appearance) and duplicates, by time
    people: list[tuple[int, int, dict[str, Any]]] = [(c["t"], 0, c) for c in g.customers]
    people += [(d["_t"], 1, d) for d in g.dup_contacts]
    people.sort(key=lambda p: (p[0], p[1]))
    contacts: list[dict[str, Any]] = []
    for cid, (t, is_dup, p) in enumerate(people, start=1):
        p["contact"] = cid
        if is_dup:
            contacts.append({
                "ID": cid, "NAME": p["NAME"], "LAST_NAME": p["LAST_NAME"], "SECOND_NAME": None,
                "EMAIL": [{"VALUE": p["_email"], "VALUE_TYPE": "HOME"}] if p["_email"] else [],
                "PHONE": [{"VALUE": p["_phone"], "VALUE_TYPE": "MOBILE"}] if p["_phone"] else [],
                "DATE_CREATE": _iso(t), "COMPANY_ID": None, "ASSIGNED_BY_ID": 1})
        else:
            contacts.append(_contact_record(cid, p, r))

    # Records are finished in place (private "_" keys dropped): at 200,000 rows building a
    # second dict per record doubled the run time and the memory.
    g.orders.sort(key=lambda o: o["_t"])
    for oid, o in enumerate(g.orders, start=1):
        o["id"] = oid
        o["accountNumber"] = str(oid)

    g.deals.sort(key=lambda d: d["_t"])
    auto_ids: set[int] = set()
    sources = ("CALL", "WEB", "EMAIL", "OTHER")
    for did, d in enumerate(g.deals, start=1):
        d["ID"] = did
        if d.pop("_auto"):
            auto_ids.add(did)
            o = d.pop("_order")
            acc = o["accountNumber"]
            d["TITLE"] = (f"Заказ №{acc}", f"Заказ №{acc} от {_DAY_RU[o['_t'] // _DAY]}",
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
        d["DATE_CREATE"] = _iso(d.pop("_t"))
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
        o["dateInsert"] = o["dateUpdate"] = _iso(o.pop("_t"))
        del o["_cust"]
        o["lid"] = "s1"
        o["companyId"] = None
        o["externalOrder"] = "N"
    companies = [{"ID": c["ID"], "TITLE": c["TITLE"]} for c in g.companies]
    return DemoData(deals=g.deals, contacts=contacts, companies=companies, orders=g.orders,
                    bindings=bindings, truth=truth, auto_deal_ids=auto_ids)
