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

from . import demo_vocab as vocab
from .demo_gen import D_AMOUNT, D_CURRENCY, D_PERSON, D_T, D_USER, O_CLIENTS, O_DEAL, O_PERSON, Gen
from .demo_mix import PRESETS, Mix, mix
from .demo_records import DemoData, finish, without_gc

__all__ = ["PRESETS", "DemoData", "Mix", "generate", "make_demo", "mix"]

_SPAN = vocab.SPAN_DAYS * vocab.DAY  # the demo period, in seconds


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
          ) -> tuple[DemoData, Gen]:
    """One run: the steps below, in this order (each one's draws follow the previous')."""
    g = Gen(seed, knobs)
    n_auto, m, doubles, a1, a2 = _counts(n_deals, n_orders)
    stories = _true_stories(g, m, doubles)
    _bind_true_orders(g, [o for _, o in stories], a1)
    _number_titles(g, stories)
    _near_misses(g, n_deals - n_auto - m, stories)
    _lone_orders(g, n_orders - len(stories), a2)
    return finish(g, g.r), g


def _true_stories(g: Gen, m: int, doubles: int) -> list[tuple[int, int]]:
    """1. Real deals with their true order(s): ``(deal, order)`` positions.

    The first ``doubles`` deals have two orders (a split delivery at half the amount each,
    three days apart); the others one, at the deal's amount or near it.
    """
    r = g.r
    stories: list[tuple[int, int]] = []
    for i in range(m):
        t = r.randrange(0, _SPAN - 20 * vocab.DAY)
        c = g.pick_customer(t, g.mix.repeat)
        currency = c["currency"]
        amount = g.amount(currency)
        stage = r.choice(("WON", "WON", "WON", "EXECUTING", "FINAL_INVOICE"))
        d = g.real_deal(c, t, amount, currency, stage)
        n_here = 2 if i < doubles else 1
        for k in range(n_here):
            lag = _lag(g)
            price = amount if n_here == 1 else round(amount / 2, 2)
            if n_here == 1:
                price = g.order_amount(amount, currency)
            t_order = _fold(t + lag + k * 3 * vocab.DAY, _SPAN)
            o = g.order(c, t_order, price, currency, g.deals[d][D_USER], deal=d)
            stories.append((d, o))
    return stories


def _lag(g: Gen) -> int:
    """Seconds from a real deal to its order: mostly days after it, a few before."""
    r = g.r
    if g.mix.lag is None:
        lag = int(r.choice((0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 5, 7, 10, 14)) * vocab.DAY
                  + r.randrange(600, vocab.DAY))
        if r.random() < 0.05:
            lag = -r.randrange(600, vocab.DAY)
        return lag
    after, before_d, after_d = g.mix.lag  # (share with the deal after the order, days, days)
    return (-r.randrange(600, int(before_d * vocab.DAY)) if r.random() < after
            else r.randrange(600, int(after_d * vocab.DAY)))


def _bind_true_orders(g: Gen, matched: list[int], a1: int) -> None:
    """Bind the true orders: to an auto duplicate, to their real deal, or not at all.

    The first ``a1`` (shuffled) get an auto-created duplicate, leaving the real deal unbound
    (the main rebind case); 12 % are bound correctly; the rest stay unbound, some still
    listing their customer as a client.
    """
    r = g.r
    order_idx = list(range(len(matched)))
    r.shuffle(order_idx)
    n_correct = round(0.12 * len(matched))
    for j, idx in enumerate(order_idx):
        o = matched[idx]
        if j < a1:
            g.auto_deal(o)
        elif j < a1 + n_correct:
            g.order_bind[o] = g.orders[o][O_DEAL]
            g.orders[o][O_CLIENTS].insert(0, (3, g.orders[o][O_PERSON]))
        elif r.random() < g.mix.order_client_share:
            g.orders[o][O_CLIENTS].insert(0, (3, g.orders[o][O_PERSON]))


def _number_titles(g: Gen, stories: list[tuple[int, int]]) -> None:
    """A manager sometimes writes the order number into the real deal's title."""
    r = g.r
    for d, o in stories:
        if r.random() < g.mix.title_number_share and g.deal_num[d] is None:
            g.deal_num[d] = o


def _near_misses(g: Gen, n_near: int, stories: list[tuple[int, int]]) -> None:
    """2. Real deals without an order, each one a trap for a matcher looking for one."""
    r = g.r
    for _ in range(n_near):
        x = r.random()
        if stories and x < 0.35:  # same customer, similar amount, weeks apart
            d0 = g.deals[r.choice(stories)[0]]
            c = g.people[d0[D_PERSON]]
            t = _fold(d0[D_T] + r.choice((-1, 1)) * r.randrange(20, 90) * vocab.DAY, _SPAN)
            amt = d0[D_AMOUNT] if r.random() < 0.5 else g.amount(d0[D_CURRENCY])
            g.real_deal(c, t, amt, d0[D_CURRENCY], r.choice(("LOSE", "WON", "NEW")))
        elif stories and x < 0.7:  # another customer, same amount within days
            d0 = g.deals[r.choice(stories)[0]]
            c = g.new_customer(d0[D_T])
            t = _fold(d0[D_T] + r.randrange(-5 * vocab.DAY, 5 * vocab.DAY), _SPAN)
            g.real_deal(c, t, d0[D_AMOUNT], d0[D_CURRENCY], r.choice(vocab.STAGES_OPEN))
        else:  # an unrelated deal, open or lost
            t = r.randrange(0, _SPAN)
            c = g.pick_customer(t, g.mix.repeat * 0.4)
            g.real_deal(c, t, g.amount(c["currency"]), c["currency"],
                        r.choice((*vocab.STAGES_OPEN, "LOSE")))


def _lone_orders(g: Gen, n: int, a2: int) -> None:
    """3. Orders with no real deal: ``a2`` bound to their auto duplicate, the rest unbound."""
    r = g.r
    for k in range(n):
        t = r.randrange(0, _SPAN)
        c = g.pick_customer(t, g.mix.repeat * 1.2)
        o = g.order(c, t, g.amount(c["currency"]), c["currency"], r.randrange(1, vocab.N_USERS + 1))
        if k < a2:
            g.auto_deal(o)
        elif r.random() < g.mix.other_client_share:
            g.orders[o][O_CLIENTS].insert(0, (3, c["_i"]))
