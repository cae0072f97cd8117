"""Per-field evidence for candidate pairs, the score they add up to, and the reasons text.

Why additive: an analyst must see *why* a pair scored as it did (Splink's waterfall,
recordlinkage's feature vectors). Each field's agreement (0–1) times its weight is kept as an
``ev_<field>`` column; the columns add up to ``score`` exactly, and ``reasons`` is rendered
from them, so filtering on ``ev_email > 0`` and reading "e-mail =" always agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from b24nb.match._block import BIT, DAY
from b24nb.match._prep import NAME_TOKENS, NO_TIME, NONE, Side

__all__ = ["FIELDS", "WEIGHTS", "evidence", "reasons"]

# Weights sum to 1. Identity (client, e-mail, phone, name) is worth at most 0.45, so a repeat
# customer's *other* deal cannot reach the pre-tick threshold on identity alone: it needs the
# amount and the date as well.
WEIGHTS: dict[str, float] = {
    "amount": 0.20,
    "currency": 0.03,
    "client": 0.10,
    "email": 0.12,
    "phone": 0.12,
    "name": 0.06,
    "date": 0.20,
    "number": 0.12,
    "responsible": 0.05,
}
FIELDS = tuple(WEIGHTS)


def _ids_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) & (a != NONE)


def _name_sim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of name tokens in common (prefix-cut, script-blind), 0 when a side has none."""
    hits = np.zeros(len(a), dtype=np.int8)
    for i in range(NAME_TOKENS):
        ai = a[:, i]
        for j in range(NAME_TOKENS):
            hits += (ai == b[:, j]) & (ai != 0)
    na = (a != 0).sum(axis=1)
    nb = (b != 0).sum(axis=1)
    denom = np.minimum(np.maximum(na, nb), NAME_TOKENS).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((na > 0) & (nb > 0), np.minimum(hits, denom) / denom, 0.0)


def _date_agreement(lag_days: np.ndarray) -> np.ndarray:
    """1 for an order 0–3 days after the deal, fading to 0 at 60 days; before: fades in 7 days."""
    after = np.clip(1.0 - (lag_days - 3.0) / 57.0, 0.0, 1.0)
    before = np.clip(0.8 + lag_days / 8.75, 0.0, 0.8)  # −1 day → 0.69, −7 days → 0
    out = np.where(lag_days >= 0, np.where(lag_days <= 3.0, 1.0, after), before)
    return np.where(np.isnan(lag_days), 0.0, out)


def _amount_agreement(a: np.ndarray, p: np.ndarray, same_cur: np.ndarray) -> np.ndarray:
    """1 exact, 0.8 within 1 %, 0.5 within 5 %, 0.3 within 12 % (discounts, delivery).

    Zero amounts agree with nothing: on most portals 0 means "not filled in".
    """
    diff = np.abs(a - p)
    rel = diff / np.maximum(np.maximum(np.abs(a), np.abs(p)), 1e-9)
    out = np.select([diff <= 0.005, rel <= 0.01, rel <= 0.05, rel <= 0.12],
                    [1.0, 0.8, 0.5, 0.3], 0.0)
    return np.where(same_cur & np.isfinite(diff) & (a > 0) & (p > 0), out, 0.0)


def evidence(deals: Side, orders: Side, di: np.ndarray, oi: np.ndarray, bits: np.ndarray
             ) -> dict[str, np.ndarray]:
    """``ev_<field>`` contributions (float64) for the pairs (di, oi), and ``lag`` in days."""
    same_cur = _ids_equal(deals.cur[di], orders.cur[oi])
    t_ok = (deals.t[di] != NO_TIME) & (orders.t[oi] != NO_TIME)
    lag = np.where(t_ok, (orders.t[oi] - deals.t[di]) / DAY, np.nan)
    client = np.where(_ids_equal(deals.contact[di], orders.contact[oi]), 1.0,
                      np.where(_ids_equal(deals.company[di], orders.company[oi]), 0.5, 0.0))
    agree = {
        "amount": _amount_agreement(deals.amount[di], orders.amount[oi], same_cur),
        "currency": same_cur.astype(np.float64),
        "client": client,
        "email": ((bits & BIT["email"]) > 0).astype(np.float64),
        "phone": ((bits & BIT["phone"]) > 0).astype(np.float64),
        "name": _name_sim(deals.name_tok[di], orders.name_tok[oi]),
        "date": _date_agreement(lag),
        "number": ((bits & BIT["number"]) > 0).astype(np.float64),
        "responsible": (_ids_equal(deals.user[di], orders.user[oi])
                        | _ids_equal(deals.user[di], orders.user2[oi])).astype(np.float64),
    }
    ev = {f"ev_{k}": v * WEIGHTS[k] for k, v in agree.items()}
    ev["lag"] = lag
    return ev


def total(ev: dict[str, np.ndarray]) -> np.ndarray:
    """The score: the plain sum of the contributions, in field order."""
    s = np.zeros(len(ev["ev_amount"]))
    for k in FIELDS:
        s += ev[f"ev_{k}"]
    return s


def reasons(ev: pd.DataFrame, deal_amount: np.ndarray, order_amount: np.ndarray,
            lag: np.ndarray) -> np.ndarray:
    """Short words per pair, e.g. ``"amount = · e-mail = · phone = · +2 d"``."""
    n = len(ev)
    parts: list[np.ndarray] = []

    def add(mask: np.ndarray, text: np.ndarray | str) -> None:
        parts.append(np.where(mask, text, ""))

    amt = ev["ev_amount"].to_numpy()
    diff = order_amount - deal_amount
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(deal_amount != 0, diff / np.abs(deal_amount) * 100, 0.0)
    sign = np.where(pct >= 0, "+", "−")
    pct_txt = np.where(
        np.abs(pct) >= 0.1,
        np.char.add(sign, np.char.add(np.abs(np.round(pct, 1)).astype(str), "%")),
        np.char.add("Δ", np.char.add(sign, np.abs(np.round(diff, 2)).astype(str))))
    exact = amt >= WEIGHTS["amount"] - 1e-9
    add(exact, "amount =")
    add((amt > 0) & ~exact, np.char.add("amount ≈ ", pct_txt))
    add(ev["ev_client"].to_numpy() >= WEIGHTS["client"] - 1e-9, "contact =")
    add((ev["ev_client"].to_numpy() > 0) & (ev["ev_client"].to_numpy() < WEIGHTS["client"]
                                            - 1e-9), "company =")
    add(ev["ev_email"].to_numpy() > 0, "e-mail =")
    add(ev["ev_phone"].to_numpy() > 0, "phone =")
    name = ev["ev_name"].to_numpy() / WEIGHTS["name"]
    add(name >= 0.999, "name =")
    add((name > 0) & (name < 0.999),
        np.char.add("name ", np.char.add(np.round(name * 100).astype(int).astype(str), "%")))
    add(ev["ev_number"].to_numpy() > 0, "№ in title")
    days = np.where(np.isnan(lag), 0, np.round(lag)).astype(int)
    day_txt = np.where(days == 0, "same day",
                       np.char.add(np.where(days > 0, "+", "−"),
                                   np.char.add(np.abs(days).astype(str), " d")))
    add(~np.isnan(lag), day_txt)
    add(ev["ev_responsible"].to_numpy() > 0, "same manager")
    add(ev["ev_currency"].to_numpy() == 0, "other currency")
    if not n:
        return np.zeros(0, dtype=object)
    out = np.full(n, "", dtype=object)
    for p in parts:
        p = p.astype(object)
        sep = np.where((out != "") & (p != ""), " · ", "")
        out = out + sep.astype(object) + p
    return out
