"""``reasons``: the agreement levels of a pair in plain words.

Rendered from the ``lvl_*`` columns (and the lag and amounts for the numbers), never worked
back out of the weights, so filtering on ``lvl_email == 1`` and reading "same e-mail" agree.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reasons"]


def _days(lag: np.ndarray) -> np.ndarray:
    a = np.abs(lag)
    hours = np.round(a * 24).astype(int)
    days = np.round(a).astype(int)
    days = np.maximum(days, 1)
    unit = np.where(hours < 24, np.char.add(hours.astype(str),
                                            np.where(hours == 1, " hour", " hours")),
                    np.char.add(days.astype(str), np.where(days == 1, " day", " days")))
    side = np.where(lag >= 0, np.char.add("order ", np.char.add(unit, " after the deal")),
                    np.char.add("deal ", np.char.add(unit, " after the order")))
    return np.where(a < 1 / 24, "within the hour", side)


def reasons(lv: dict[str, np.ndarray], lag: np.ndarray, deal_amount: np.ndarray,
            order_amount: np.ndarray, ev: dict[str, np.ndarray]) -> np.ndarray:
    """Short words per pair, e.g. ``"same amount · same e-mail · order 2 days after the deal"``."""
    n = len(lag)
    parts: list[np.ndarray] = []

    def add(mask: np.ndarray, text: np.ndarray | str) -> None:
        parts.append(np.where(mask, text, ""))

    amt = lv["amount"]
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = (order_amount - deal_amount) / np.abs(deal_amount) * 100
    pct_txt = np.char.add(np.where(pct >= 0, "order amount +", "order amount −"),
                          np.char.add(np.abs(np.round(np.nan_to_num(pct), 1)).astype(str), " %"))
    common = ev["ev_amount"] < np.log2(0.3 / 0.01)  # an equal amount worth little: a common one
    add((amt == 1) & ~common, "same amount")
    add((amt == 1) & common, "same amount (a common one)")
    add((amt > 1) & (amt < 6), pct_txt)
    add(amt == 6, "amounts differ")
    add(amt == 7, "order is a half or a third of the deal")
    add(lv["currency"] == 2, "other currency")
    add(lv["client"] == 1, "same contact")
    add(lv["client"] == 2, "same company")
    add(lv["email"] == 1, "same e-mail")
    add(lv["phone"] == 1, "same phone")
    add(lv["name"] == 1, "same name")
    add(lv["name"] == 2, "name partly the same")
    add(lv["customer"] == 7, "different customer")
    add(lv["number"] == 1, "order № in the deal title")
    add(lv["number"] == 2, "title cites another №")
    add(~np.isnan(lag), _days(np.nan_to_num(lag)))
    add((lv["responsible"] == 1) | (lv["responsible"] == 2), "same manager")
    add(ev["ev_rivals"] < -1, "other candidates compete")
    if not n:
        return np.zeros(0, dtype=object)
    table = np.stack([p.astype(object) for p in parts], axis=1)
    return np.array([" · ".join(filter(None, row)) for row in table.tolist()], dtype=object)
