"""Knobs of the demo generator: the distributions that differ from one portal to the next.

Why: a matcher tuned on one portal's demo data says little about the next portal (issue 10).
The defaults reproduce the original demo portal draw for draw (the same seed gives the same
records); :data:`PRESETS` describe portals unlike it — a web shop with sparse customer data
and generic titles, a B2B seller with company clients, fees, discounts and office-format
titles — for tests and benchmarks to score the matcher on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["PRESETS", "Mix", "mix"]


@dataclass(frozen=True)
class Mix:
    """Shares are probabilities per record; ``None`` keeps the original demo's draw."""

    #: real deals without a contact
    deal_no_contact: float = 0.04
    #: customers that come with a company (B2B)
    company_share: float = 0.2
    #: customers whose contact card has an e-mail / a phone
    contact_email_share: float = 0.9
    contact_phone_share: float = 0.9
    #: orders whose EMAIL / PHONE property is empty
    order_email_missing: float = 0.08
    order_phone_missing: float = 0.13
    #: orders whose e-mail is the company's shared mailbox (info@…)
    shared_mailbox: float = 0.0
    #: true orders (not on an auto duplicate) / other orders that name their contact as client
    order_client_share: float = 0.5
    other_client_share: float = 0.4
    #: amounts drawn from the short catalogue price list
    catalogue_share: float = 0.4
    #: other amounts kept to the cent (54,777.70) instead of rounded
    odd_amounts: float = 0.0
    #: order amount = deal amount below cut 0, a discount below 1, a fee below 2, else rounding
    amount_cuts: tuple[float, float, float] = (0.70, 0.82, 0.92)
    discounts: tuple[float, ...] = (0.95, 0.9, 0.97)
    #: repeat customers: share of stories reusing an earlier customer
    repeat: float = 0.25
    #: 100 currency codes drawn from (None: the demo's 80 % RUB)
    currencies: tuple[str, ...] | None = None
    #: titles: "products" (demo), "generic" ("Website purchase", "Deal 123"), "none" ("")
    titles: str = "products"
    #: share of real deals whose title cites the order number, and in which formats:
    #: "demo" ("… (заказ №123)", "Заказ 123: …") or "office" ("ORD-000123", "Счёт № 123 от …",
    #: "КП-123", "№123", "#123")
    title_number_share: float = 0.12
    number_formats: str = "demo"
    #: order date minus deal date: None = the demo's (0–14 days, 5 % up to a day before);
    #: else (share with the deal created after the order, days before, days after)
    lag: tuple[float, float, float] | None = None


PRESETS: dict[str, Mix] = {
    "demo": Mix(),
    # the unseen web shop of issue 10
    "shop": Mix(deal_no_contact=0.25, order_email_missing=0.35, order_phone_missing=0.45,
                order_client_share=0.15, other_client_share=0.1, catalogue_share=0.6,
                odd_amounts=0.5, repeat=0.4, titles="generic", title_number_share=0.0,
                currencies=("RUB",) * 45 + ("USD",) * 20 + ("EUR",) * 25 + ("KZT",) * 10,
                lag=(0.5, 3.0, 10.0)),
    # a B2B seller: companies, shared mailboxes, fees and discounts, deals weeks ahead
    "b2b": Mix(company_share=0.9, deal_no_contact=0.1, shared_mailbox=0.4,
               order_client_share=0.3, catalogue_share=0.2, odd_amounts=0.3,
               amount_cuts=(0.35, 0.7, 0.95), discounts=(0.85, 0.9, 0.93, 0.95, 0.97),
               titles="generic", title_number_share=0.3, number_formats="office",
               lag=(0.1, 2.0, 40.0)),
}


def mix(preset: str | Mix | None = None, **knobs: object) -> Mix:
    """A :class:`Mix` from a preset name (or a Mix) with some knobs overridden."""
    base = preset if isinstance(preset, Mix) else PRESETS[preset or "demo"]
    return replace(base, **knobs)  # type: ignore[arg-type]
